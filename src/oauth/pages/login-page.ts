import { html, page } from './layout.ts';

/** The hosted sign-in form: email and password, posted with the interaction's CSRF token. Works without scripts. */
export function renderLoginPage(o: { tenantName: string; clientName: string; action: string; csrf: string; email?: string | null; error?: string }): string {
  return page({
    title: 'Sign in',
    tenantName: o.tenantName,
    body: html`<p>to continue to <strong>${o.clientName}</strong></p>
${o.error ? html`<p class="error" role="alert" id="form-error">${o.error}</p>` : ''}
<form method="post" action="${o.action}" novalidate>
  <input type="hidden" name="csrf" value="${o.csrf}">
  <label for="email">Email</label>
  <input id="email" name="email" type="email" autocomplete="username" required value="${o.email ?? ''}"${o.error ? html` aria-describedby="form-error" aria-invalid="true"` : ''} autofocus>
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <button type="submit">Sign in</button>
</form>`,
  });
}
