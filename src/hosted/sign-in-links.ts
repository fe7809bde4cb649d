import type { Locale } from '../i18n/locale.ts';
import { html, type Html } from '../oauth/pages/layout.ts';
import { text } from '../oauth/pages/page-text.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/** The links under every sign-in form: forgot password, a mailed sign-in link (when enabled), sign up (when open). */
export function signInLinks(tenant: ResolvedTenant, locale: Locale): Html {
  const settings = effectiveSettings(tenant);
  const items: [string, string][] = [[`${tenant.issuer}/forgot-password`, text(locale, 'signin.forgot')]];
  if (settings.passwordless) items.push([`${tenant.issuer}/passwordless`, text(locale, 'signin.passwordless')]);
  if (settings.registration === 'open') items.push([`${tenant.issuer}/signup`, text(locale, 'signin.signup')]);
  return html`<p class="links">${items.map(([href, label]) => html`<a href="${href}">${label}</a>`)}</p>`;
}
