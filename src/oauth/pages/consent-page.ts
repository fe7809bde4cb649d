import { html, page } from './layout.ts';

const SCOPE_TEXT: Record<string, string> = {
  openid: 'Sign you in with your account',
  profile: 'See your name and profile details',
  email: 'See your email address',
  offline_access: 'Stay signed in when you are not using it',
};

/** Consent: the scopes listed in words, Allow or Deny; the decision is remembered per user and application. */
export function renderConsentPage(o: { tenantName: string; clientName: string; email: string; scopes: string[]; action: string; csrf: string }): string {
  return page({
    title: 'Allow access?',
    tenantName: o.tenantName,
    body: html`<p><strong>${o.clientName}</strong> wants to access your account <strong>${o.email}</strong>. It will be able to:</p>
<ul class="scopes">${o.scopes.map((s) => html`<li>${SCOPE_TEXT[s] ?? html`Use <code>${s}</code>`}</li>`)}</ul>
<form method="post" action="${o.action}">
  <input type="hidden" name="csrf" value="${o.csrf}">
  <button type="submit" name="decision" value="allow">Allow</button>
  <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>`,
  });
}

export function renderMessagePage(o: { tenantName: string; title: string; message: string }): string {
  return page({ title: o.title, tenantName: o.tenantName, body: html`<p>${o.message}</p>` });
}
