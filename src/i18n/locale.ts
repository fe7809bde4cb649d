export const LOCALES = ['en', 'pt-BR'] as const;
export type Locale = (typeof LOCALES)[number];

/** The shipped locale a BCP 47 tag asks for, if any. */
function pick(tag: string): Locale | undefined {
  const t = tag.trim().toLowerCase();
  if (t === 'pt-br' || t === 'pt') return 'pt-BR';
  if (t.startsWith('pt-')) return 'pt-BR';
  if (t === 'en' || t.startsWith('en-')) return 'en';
  return undefined;
}

/**
 * The first shipped locale of an OIDC `ui_locales` value (space-separated BCP 47 tags, in order of preference,
 * OIDC Core §3.1.2.1); undefined when it names none, so the browser's languages decide.
 */
export function uiLocale(uiLocales: string | null | undefined): Locale | undefined {
  if (!uiLocales) return undefined;
  for (const tag of uiLocales.split(' ').slice(0, 20)) {
    const l = pick(tag);
    if (l) return l;
  }
  return undefined;
}

/** Picks a shipped locale: the user's own setting first, else the best Accept-Language match, else English. */
export function negotiateLocale(acceptLanguage: string | undefined, userLocale?: string | null): Locale {
  if (userLocale) {
    const l = pick(userLocale);
    if (l) return l;
  }
  if (!acceptLanguage) return 'en';
  const ranked = acceptLanguage
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag = '', ...rest] = part.split(';');
      const q = rest.map((r) => /^\s*q=([0-9.]+)\s*$/.exec(r)?.[1]).find(Boolean);
      return { tag, q: q === undefined ? 1 : Number(q), i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const r of ranked) {
    const l = pick(r.tag);
    if (l) return l;
  }
  return 'en';
}
