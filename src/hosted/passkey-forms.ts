import type { PublicKeyCredentialCreationOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyRequest } from 'fastify';
import type { WebauthnFactorInput } from '../mfa/verify-factor.ts';
import { allowScript, Html, html } from '../oauth/pages/layout.ts';
import type { AssertionOptions } from '../webauthn/index.ts';
import type { PageCtx } from './hosted-page.ts';
import { PASSKEY_SCRIPT, PASSKEY_SCRIPT_HASH } from './passkey-script.ts';

/**
 * "Use a passkey" on a second-step page: a form holding the assertion options, answered by the page's one script
 * (allowed for this response by its hash) with the assertion in the hidden `webauthn` field.
 */
export function passkeyAssertForm(request: FastifyRequest, ctx: PageCtx, o: { action: string; csrf: string; options: AssertionOptions; hidden?: Record<string, string>; primary?: boolean }): Html {
  allowScript(request, PASSKEY_SCRIPT_HASH);
  const hidden = Object.entries(o.hidden ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
  return html`<p id="passkey-error" class="error" role="alert" hidden></p><noscript><p class="muted">${ctx.t('passkey.sign_in_needs_js')}</p></noscript>
<form method="post" action="${o.action}" id="passkey-assert-form" data-options="${JSON.stringify(o.options)}">
  <input type="hidden" name="csrf" value="${o.csrf}">${hidden}<input type="hidden" name="webauthn" value="">
  <button type="submit"${o.primary ? '' : html` class="secondary"`}>${ctx.t('passkey.use')}</button>
</form><script>${new Html(PASSKEY_SCRIPT)}</script>`;
}

/** The `webauthn` form field as the factor input, or undefined when absent or malformed. */
export function webauthnField(value: string | undefined): WebauthnFactorInput | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as WebauthnFactorInput;
    if (typeof v?.challenge_id === 'string' && v.challenge_id.length <= 200 && typeof v.response === 'object' && v.response && typeof v.response.id === 'string') return v;
  } catch {
    // not JSON
  }
  return undefined;
}

/**
 * "Use a passkey or security key" at the enrollment step, beside the authenticator app: a section drawn `hidden` that
 * the page's script reveals (where the browser has WebAuthn), so without scripts the app setup is all there is. Its
 * form holds the creation options and is answered by the script's create branch (#passkey-form), the attestation
 * posted in the hidden `response` field with the page's CSRF value.
 */
export function passkeyEnrollChoice(request: FastifyRequest, ctx: PageCtx, o: { action: string; csrf: string; options: PublicKeyCredentialCreationOptionsJSON }): Html {
  allowScript(request, PASSKEY_SCRIPT_HASH);
  const t = ctx.t;
  return html`<section id="passkey-choice" class="choice" aria-labelledby="passkey-choice-title" hidden>
<h2 id="passkey-choice-title">${t('enroll.passkey_title')}</h2>
<p>${t('enroll.passkey_prompt')}</p><p id="passkey-error" class="error" role="alert" hidden></p>
<form method="post" action="${o.action}" id="passkey-form" data-options="${JSON.stringify(o.options)}">
  <input type="hidden" name="csrf" value="${o.csrf}"><input type="hidden" name="response" value="">
  <button type="submit">${t('enroll.passkey_submit')}</button>
</form></section><script>${new Html(PASSKEY_SCRIPT)}</script>`;
}

/** The `response` form field (credential.toJSON() of a registration), or undefined when absent or malformed. */
export function registrationField(value: string | undefined): RegistrationResponseJSON | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as RegistrationResponseJSON;
    if (v && typeof v === 'object' && typeof v.id === 'string' && typeof v.response === 'object' && v.response) return v;
  } catch {
    // not JSON
  }
  return undefined;
}
