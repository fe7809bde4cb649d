import type { Locale } from '../../i18n/locale.ts';
import { html, page, type Brand, type Html } from './layout.ts';
import { text } from './page-text.ts';

/**
 * The hosted second step: one field for an authenticator-app code or a backup code, posted with the interaction's
 * CSRF token, when the user has such a factor (`code`, the default); `after` holds "use a passkey" when they have
 * one. A passkey-only user gets a short text and the passkey button alone. The MFA challenge itself stays on the
 * server, in the interaction; the page never holds it.
 */
export function renderMfaPage(o: { brand?: Brand; locale: Locale; tenantName: string; clientName: string; action: string; csrf: string; error?: string; after?: Html; code?: boolean }): string {
  const t = (k: Parameters<typeof text>[1]) => text(o.locale, k);
  const code = o.code !== false || !o.after;
  return page({
    lang: o.locale,
    ...(o.brand ? { brand: o.brand } : {}),
    title: t('mfa.title'),
    tenantName: o.tenantName,
    body: html`<p>${code ? t('mfa.prompt') : t('mfa.passkey_only')}</p>
${o.error ? html`<p class="error" role="alert" id="form-error">${o.error}</p>` : ''}${
      code
        ? html`<form method="post" action="${o.action}" novalidate>
  <input type="hidden" name="csrf" value="${o.csrf}">
  <label for="code">${t('mfa.code')}</label>
  <input id="code" name="code" type="text" inputmode="text" autocomplete="one-time-code" required maxlength="64"${o.error ? html` aria-describedby="form-error" aria-invalid="true"` : ''} autofocus>
  <button type="submit">${t('mfa.submit')}</button>
</form>`
        : ''
    }${o.after ?? ''}`,
  });
}
