import type { Locale } from '../../i18n/locale.ts';
import { html, page, type Brand, type Html } from './layout.ts';
import { text } from './page-text.ts';

/** The hosted sign-in form: email and password, posted with the interaction's CSRF token. Works without scripts. */
export function renderLoginPage(o: { brand?: Brand; locale: Locale; tenantName: string; clientName: string; action: string; csrf: string; email?: string | null; error?: string; links?: Html }): string {
  const t = (k: Parameters<typeof text>[1]) => text(o.locale, k);
  return page({
    lang: o.locale,
    ...(o.brand ? { brand: o.brand } : {}),
    title: t('signin.title'),
    tenantName: o.tenantName,
    body: html`<p>${t('signin.continue')} <strong>${o.clientName}</strong></p>
${o.error ? html`<p class="error" role="alert" id="form-error">${o.error}</p>` : ''}
<form method="post" action="${o.action}" novalidate>
  <input type="hidden" name="csrf" value="${o.csrf}">
  <label for="email">${t('signin.email')}</label>
  <input id="email" name="email" type="email" autocomplete="username" required value="${o.email ?? ''}"${o.error ? html` aria-describedby="form-error" aria-invalid="true"` : ''} autofocus>
  <label for="password">${t('signin.password')}</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">${t('signin.submit')}</button>
</form>${o.links ?? ''}`,
  });
}
