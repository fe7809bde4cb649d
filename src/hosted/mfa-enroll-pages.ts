import type { TotpEnrollment } from '../mfa/totp.ts';
import { brandOf, Html, html, page } from '../oauth/pages/layout.ts';
import { formPage, type PageCtx } from './hosted-page.ts';

/*
 * The hosted enrollment step of a sign-in the tenant's MFA policy holds back (grace period over): a passkey or
 * security key (where scripts run), or an authenticator app confirmed with a code; then the backup codes once.
 * Shared by the OAuth interaction and the hosted /login; the enrollment challenge stays on the server (in the
 * interaction or the pending sign-in).
 */

/**
 * The passkey choice first (passkeyEnrollChoice: hidden until the page's script shows it), then the authenticator
 * app: the QR code (inline SVG, decorative: the key below is its text alternative), the key, and the code form.
 */
export function enrollPage(
  ctx: PageCtx,
  o: { action: string; csrf: string; enrollment: Pick<TotpEnrollment, 'qr_svg' | 'manual_entry_key'>; passkey?: Html | undefined; error?: Html | string },
): string {
  const t = ctx.t;
  return formPage(ctx, {
    title: t('enroll.title'),
    intro: t('enroll.required'),
    error: o.error,
    // The SVG comes from the qrcode library (paths only), not from user input.
    before: html`${o.passkey ?? ''}<h2>${t('enroll.app_title')}</h2><p>${t('totp.scan')}</p><div class="qr" aria-hidden="true">${new Html(o.enrollment.qr_svg.replace(/^<\?xml[^>]*>/, ''))}</div><p>${t('totp.key')}: <code id="totp-key">${o.enrollment.manual_entry_key}</code></p>`,
    action: o.action,
    csrf: o.csrf,
    fields: [{ name: 'code', label: t('totp.code'), autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6 }],
    // With the passkey choice above, focusing the code field would scroll the title and that choice out of view.
    autofocus: !o.passkey,
    submit: t('enroll.submit'),
  });
}

/**
 * The backup codes, shown once (the answer to the confirming POST, never a page to come back to), and "Continue"
 * to where the sign-in was going: a GET form, so it changes nothing and needs no CSRF token.
 */
export function backupCodesPage(ctx: PageCtx, o: { codes: string[]; next: string }): string {
  const t = ctx.t;
  return page({
    lang: ctx.locale,
    brand: brandOf(ctx.tenant),
    title: t('enroll.codes_title'),
    tenantName: ctx.tenant.name,
    body: html`<p class="ok" role="status">${t('enroll.codes')}</p>
<ol class="codes" aria-label="${t('enroll.codes_title')}">${o.codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<form method="get" action="${o.next}">
  <button type="submit">${t('enroll.continue')}</button>
</form>`,
  });
}
