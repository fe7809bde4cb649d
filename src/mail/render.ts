import type { Locale } from '../i18n/locale.ts';

/** What a template says; the layout turns it into a branded plain-text and HTML message. */
export interface MailContent {
  subject: string;
  /** Paragraphs before the action. */
  intro: string[];
  /** The button (HTML) / bare link (text). */
  action?: { label: string; url: string };
  /** A one-time code shown large. */
  code?: string;
  /** Paragraphs after the action (expiry, "if this was not you"). */
  outro?: string[];
}

export interface Branding {
  name: string;
  logoUrl: string | null;
  color: string;
}

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

const DEFAULT_COLOR = '#1f6feb';
const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * The tenant's mail branding from `tenant.branding`: `display_name` (else the tenant name), `logo_url` (https, or
 * http for local use) and `primary_color` (#rgb / #rrggbb). Anything else falls back, so a branding value can never
 * inject markup or CSS.
 */
export function brandingOf(t: { name: string; branding: Record<string, string> }): Branding {
  const b = t.branding ?? {};
  let logoUrl: string | null = null;
  if (typeof b.logo_url === 'string') {
    try {
      const u = new URL(b.logo_url);
      if (u.protocol === 'https:' || u.protocol === 'http:') logoUrl = u.toString();
    } catch {
      logoUrl = null;
    }
  }
  const color = typeof b.primary_color === 'string' && HEX_COLOR.test(b.primary_color) ? b.primary_color : DEFAULT_COLOR;
  const name = typeof b.display_name === 'string' && b.display_name.trim() ? b.display_name.trim().slice(0, 100) : t.name;
  return { name, logoUrl, color };
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

const FOOTER: Record<Locale, (name: string) => string> = {
  en: (name) => `This message was sent by ${name}. You are receiving it because of an action on your account.`,
  'pt-BR': (name) => `Esta mensagem foi enviada por ${name}. Você a recebeu por causa de uma ação na sua conta.`,
};

/** The one layout: plain text, and HTML in which every interpolated value is escaped. */
export function renderMail(locale: Locale, brand: Branding, c: MailContent): RenderedMail {
  const subject = `${c.subject} · ${brand.name}`.replace(/[\r\n]+/g, ' ');
  const text = [
    brand.name,
    '',
    ...c.intro.flatMap((p) => [p, '']),
    ...(c.code ? [c.code, ''] : []),
    ...(c.action ? [`${c.action.label}: ${c.action.url}`, ''] : []),
    ...(c.outro ?? []).flatMap((p) => [p, '']),
    '-- ',
    FOOTER[locale](brand.name),
  ].join('\n');

  const e = escapeHtml;
  const p = (s: string) => `<p style="margin:0 0 16px;line-height:1.5">${e(s)}</p>`;
  const html = `<!doctype html>
<html lang="${locale}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${e(subject)}</title></head>
<body style="margin:0;padding:24px;background:#f5f6f8;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#1f2328">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:8px;overflow:hidden">
<div style="background:${brand.color};padding:16px 24px;color:#ffffff;font-size:18px;font-weight:600">${
    brand.logoUrl ? `<img src="${e(brand.logoUrl)}" alt="${e(brand.name)}" height="32" style="vertical-align:middle;margin-right:8px">` : ''
  }${e(brand.name)}</div>
<div style="padding:24px">
${c.intro.map(p).join('\n')}
${c.code ? `<p style="margin:0 0 16px;font-size:28px;letter-spacing:6px;font-weight:700">${e(c.code)}</p>` : ''}
${
  c.action
    ? `<p style="margin:24px 0"><a href="${e(c.action.url)}" style="background:${brand.color};color:#ffffff;padding:12px 20px;border-radius:6px;text-decoration:none;display:inline-block">${e(c.action.label)}</a></p>
<p style="margin:0 0 16px;font-size:12px;color:#57606a;word-break:break-all">${e(c.action.url)}</p>`
    : ''
}
${(c.outro ?? []).map(p).join('\n')}
</div>
<div style="padding:16px 24px;font-size:12px;color:#57606a;border-top:1px solid #d0d7de">${e(FOOTER[locale](brand.name))}</div>
</div></body></html>`;
  return { subject, text, html };
}
