import type { OAuthError } from '../oauth-error.ts';
import { html, page } from './layout.ts';

/** The page shown when the request cannot be sent back to the client (unknown client, unregistered redirect_uri). */
export function renderErrorPage(tenant: { name: string } | null, err: OAuthError): string {
  const body = err.toJSON();
  return page({
    title: 'Sign-in request refused',
    tenantName: tenant?.name ?? 'Gatehouse',
    body: html`<p class="error" role="alert">${body.error_description}</p><p>Error code: <code>${body.error}</code></p>
      <p>Return to the application you came from and try again.</p>`,
  });
}
