import type { Locale } from '../../i18n/locale.ts';
import { html, page, type Brand, type Html } from './layout.ts';
import { hasText, text } from './page-text.ts';

/** A scope as people read it: the standard ones in words, any other by its name. */
export function scopeLabel(locale: Locale, scope: string): Html {
  const key = `scope.${scope}`;
  return hasText(key) ? html`${text(locale, key)}` : html`${text(locale, 'scope.custom')} <code>${scope}</code>`;
}

/** Consent: the scopes listed in words, Allow or Deny; the decision is remembered per user and application. */
export function renderConsentPage(o: { brand?: Brand; locale: Locale; tenantName: string; clientName: string; email: string; scopes: string[]; action: string; csrf: string }): string {
  const t = (k: Parameters<typeof text>[1]) => text(o.locale, k);
  return page({
    lang: o.locale,
    ...(o.brand ? { brand: o.brand } : {}),
    title: t('consent.title'),
    tenantName: o.tenantName,
    body: html`<p><strong>${o.clientName}</strong> ${t('consent.wants')} <strong>${o.email}</strong>. ${t('consent.able')}</p>
<ul class="scopes">${o.scopes.map((s) => html`<li>${scopeLabel(o.locale, s)}</li>`)}</ul>
<form method="post" action="${o.action}">
  <input type="hidden" name="csrf" value="${o.csrf}">
  <button type="submit" name="decision" value="allow">${t('consent.allow')}</button>
  <button type="submit" name="decision" value="deny" class="secondary">${t('consent.deny')}</button>
</form>`,
  });
}

export function renderMessagePage(o: { brand?: Brand; locale: Locale; tenantName: string; title: string; message: string }): string {
  return page({ lang: o.locale, ...(o.brand ? { brand: o.brand } : {}), title: o.title, tenantName: o.tenantName, body: html`<p>${o.message}</p>` });
}
