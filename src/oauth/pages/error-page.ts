import type { Locale } from '../../i18n/locale.ts';
import type { OAuthError } from '../oauth-error.ts';
import { brandOf, html, page } from './layout.ts';
import { text } from './page-text.ts';

/** The page shown when the request cannot be sent back to the client (unknown client, unregistered redirect_uri). */
export function renderErrorPage(locale: Locale, tenant: { name: string; branding?: Record<string, string> } | null, err: OAuthError): string {
  const body = err.toJSON();
  return page({
    lang: locale,
    brand: brandOf(tenant),
    title: text(locale, 'error.title'),
    tenantName: tenant?.name ?? 'Gatehouse',
    body: html`<p class="error" role="alert">${body.error_description}</p><p>${text(locale, 'error.code')} <code>${body.error}</code></p>
      <p>${text(locale, 'error.back')}</p>`,
  });
}
