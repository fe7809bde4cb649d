import { expect } from 'vitest';
import { InjectBrowser } from '../oidc/oidc-harness.ts';

/** The form whose action ends with `suffix` (pages may hold several: a sign-out button, per-item buttons). */
export function formAt(html: string, suffix: string): { action: string; fields: Record<string, string> } {
  for (const m of html.matchAll(/<form method="post" action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)) {
    const action = m[1]!.replaceAll('&amp;', '&');
    if (!new URL(action, 'http://x').pathname.endsWith(suffix)) continue;
    const fields: Record<string, string> = {};
    for (const f of m[2]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[f[1]!] = f[2]!.replaceAll('&amp;', '&');
    return { action, fields };
  }
  throw new Error(`no form posting to …${suffix} in page:\n${html}`);
}

/** A page fetched, checked for the headers every self-service page carries. */
export async function open(b: InjectBrowser, url: string, status = 200) {
  const res = await b.fetch(url);
  expect(res.status, res.body).toBe(status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  return res;
}

/** Fills and posts the form at `suffix` of `html`. */
export function submit(b: InjectBrowser, html: string, suffix: string, values: Record<string, string> = {}) {
  const f = formAt(html, suffix);
  return b.fetch(f.action, { form: { ...f.fields, ...values } });
}

/** Follows a 303 to the page it names. */
export async function follow(b: InjectBrowser, res: { status: number; location: string | null }) {
  expect(res.status).toBe(303);
  return b.fetch(res.location!);
}
