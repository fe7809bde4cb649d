import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, requireTenant } from '../http/request-context.ts';
import { changeOwnPassword, revokeOtherSessions, revokeOwnSession, updateOwnProfile, type Who } from '../identity/account.service.ts';
import type { UserRow } from '../identity/user.model.ts';
import { findUserById } from '../identity/user.queries.ts';
import { removeOwnPasskey, removeOwnTotp } from '../mfa/factor-removal.ts';
import { listActiveFactors, remainingBackupCodes } from '../mfa/mfa.queries.ts';
import { stepUp } from '../mfa/step-up.service.ts';
import { requireRecentAal2, requireRecentAal2IfEnrolled } from '../mfa/step-up.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from '../mfa/totp-enrollment.ts';
import type { FactorInput } from '../mfa/verify-factor.ts';
import { readBrowserSession, type BrowserSession } from '../oauth/authorize/browser-session.ts';
import { Html, html } from '../oauth/pages/layout.ts';
import { listUserSessions } from '../session/session.queries.ts';
import type { AccessClaims } from '../tokens/access-token.ts';
import { listUserCredentials } from '../webauthn/webauthn.queries.ts';
import { bodyOf, checkCsrf, csrfToken, errorView, formPage, pageCtx, seeOther, sendPage, type PageCtx } from './hosted-page.ts';
import { allowScript, page, brandOf } from '../oauth/pages/layout.ts';
import { notifyUserOfMfaChange } from '../mfa/mfa-notify.ts';
import { requireRecentAuthentication } from '../webauthn/recent-auth.ts';
import { registrationOptions, verifyRegistration } from '../webauthn/registration.service.ts';
import { PASSKEY_SCRIPT, PASSKEY_SCRIPT_HASH } from './passkey-script.ts';
import { passkeyAssertForm, registrationField, webauthnField } from './passkey-forms.ts';
import { secondFactorOptions } from '../webauthn/index.ts';
import { applicationsBody } from '../oauth/grants/applications.page.ts';
import { listOwnApplications, revokeOwnApplication } from '../oauth/grants/applications.service.ts';

type Form = { Body: Record<string, string> };
const form = (summary: string) => ({ schema: { tags: ['hosted-pages'], summary, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' as const } });
const get = (summary: string) => ({ schema: { tags: ['hosted-pages'], summary }, config: { oauthErrors: 'html' as const } });

interface Account {
  ctx: PageCtx;
  session: BrowserSession;
  user: UserRow;
  who: Who;
  csrf: string;
}

type Section = 'profile' | 'password' | 'security' | 'sessions' | 'applications';

/**
 * The account pages of the hosted browser session (gh_session): profile, password, security (authenticator app,
 * passkeys), devices, sign-out. Not signed in: to /login?return_to=<this page>. Every change goes through the same
 * service as its /me API route, with the same step-up guard; a STEP_UP_REQUIRED answer shows the code form.
 */
export async function accountRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const paths: Record<Section, string> = { profile: '/account', password: '/account/password', security: '/account/security', sessions: '/account/sessions', applications: '/account/applications' };

  /** The signed-in account, or a redirect to the sign-in page (answered, then `undefined`). */
  async function account(request: FastifyRequest, reply: FastifyReply, section: Section): Promise<Account | undefined> {
    const tenant = await requireTenant(gh, request);
    const ctx = pageCtx(tenant, request);
    const session = await readBrowserSession(gh, tenant, request);
    const user = session ? await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, session.user_id)) : undefined;
    if (!session || !user || user.status === 'disabled') {
      const returnTo = `${new URL(tenant.issuer).pathname.replace(/\/$/, '')}${paths[section]}`;
      seeOther(reply, `${tenant.issuer}/login?return_to=${encodeURIComponent(returnTo)}`);
      return undefined;
    }
    // The step-up guards and service read the user and session of the request's claims: here, the browser session's.
    request.auth = { sub: user.id, sid: session.id } as AccessClaims;
    return { ctx, session, user, who: { userId: user.id, sessionId: session.id }, csrf: csrfToken(request, reply, tenant) };
  }

  function nav(a: Account, current: Section): Html {
    const items: [Section, string][] = [
      ['profile', a.ctx.t('account.profile')],
      ['password', a.ctx.t('account.password')],
      ['security', a.ctx.t('account.security')],
      ['sessions', a.ctx.t('account.sessions')],
      ['applications', a.ctx.t('account.applications')],
    ];
    return html`<nav class="account" aria-label="${a.ctx.t('account.nav')}">${items.map(([s, label]) =>
      html`<a href="${a.ctx.tenant.issuer}${paths[s]}"${s === current ? html` aria-current="page"` : ''}>${label}</a>`,
    )}</nav>`;
  }

  const signOutForm = (a: Account) =>
    html`<form method="post" action="${a.ctx.tenant.issuer}/logout" class="inline"><input type="hidden" name="csrf" value="${a.csrf}"><button type="submit" class="secondary">${a.ctx.t('account.signout')}</button></form>`;

  /** A page of the account area: nav, its content, the sign-out button. */
  function accountPage(a: Account, section: Section, title: string, body: Html): string {
    return page({ lang: a.ctx.locale, brand: brandOf(a.ctx.tenant), title, tenantName: a.ctx.tenant.name, body: html`${nav(a, section)}${body}${signOutForm(a)}` });
  }

  /** The step-up code form (and "use a passkey" when the user has one); after it the user goes back to the section. */
  async function stepUpPage(reply: FastifyReply, a: Account, section: Section, status: number, error?: Html | string) {
    const action = `${a.ctx.tenant.issuer}/account/step-up`;
    const options = await secondFactorOptions(gh, a.ctx.tenant, a.user.id);
    const passkey = options ? passkeyAssertForm(reply.request, a.ctx, { action, csrf: a.csrf, options, hidden: { section } }) : '';
    return sendPage(
      reply,
      status,
      formPage(a.ctx, {
        title: a.ctx.t('mfa.title'),
        nav: nav(a, section),
        intro: a.ctx.t('stepup.prompt'),
        error,
        action: `${a.ctx.tenant.issuer}/account/step-up`,
        csrf: a.csrf,
        hidden: { section },
        fields: [{ name: 'code', label: a.ctx.t('mfa.code'), autocomplete: 'one-time-code', maxlength: 64 }],
        submit: a.ctx.t('stepup.submit'),
        links: html`${passkey}${signOutForm(a)}`,
      }),
    );
  }
  const needsStepUp = (err: unknown) => err instanceof AppError && err.code === 'STEP_UP_REQUIRED';

  app.post<Form>('/account/step-up', form('Hosted page: confirm a sensitive change with a second factor'), async (request, reply) => {
    const section = (['profile', 'password', 'security', 'sessions'] as const).find((s) => s === bodyOf(request).section) ?? 'security';
    const a = await account(request, reply, section);
    if (!a) return reply;
    const body = bodyOf(request);
    checkCsrf(a.ctx, request, body);
    const code = (body.code ?? '').trim().slice(0, 64);
    const webauthn = webauthnField(body.webauthn);
    if (!code && !webauthn) return stepUpPage(reply, a, section, 400, a.ctx.t('mfa.missing'));
    const input: FactorInput = webauthn ? { webauthn } : /^[0-9]{6}$/.test(code) ? { code } : { backup_code: code };
    try {
      await stepUp(gh, a.ctx.tenant, request.auth!, input, auditContext(request));
    } catch (err) {
      if (err instanceof AppError && err.headers) reply.headers(err.headers);
      return stepUpPage(reply, a, section, (err as { status?: number }).status ?? 400, errorView(a.ctx, err));
    }
    return seeOther(reply, `${a.ctx.tenant.issuer}${paths[section]}`);
  });

  // --- profile ---
  function profilePage(reply: FastifyReply, a: Account, status: number, o: { notice?: string; error?: Html | string } = {}) {
    return sendPage(
      reply,
      status,
      formPage(a.ctx, {
        title: a.ctx.t('account.title'),
        nav: nav(a, 'profile'),
        ...(o.notice ? { notice: o.notice } : {}),
        error: o.error,
        before: html`<p><span class="muted">${a.ctx.t('account.email')}</span><br><strong>${a.user.email}</strong></p>`,
        action: `${a.ctx.tenant.issuer}/account`,
        csrf: a.csrf,
        fields: [
          { name: 'name', label: a.ctx.t('account.name'), autocomplete: 'name', required: false, value: a.user.name, maxlength: 200 },
          { name: 'given_name', label: a.ctx.t('account.given_name'), autocomplete: 'given-name', required: false, value: a.user.given_name, maxlength: 200 },
          { name: 'family_name', label: a.ctx.t('account.family_name'), autocomplete: 'family-name', required: false, value: a.user.family_name, maxlength: 200 },
        ],
        submit: a.ctx.t('account.save'),
        links: signOutForm(a),
      }),
    );
  }

  app.get<{ Querystring: { saved?: string } }>('/account', get('Hosted page: your profile'), async (request, reply) => {
    const a = await account(request, reply, 'profile');
    if (!a) return reply;
    return profilePage(reply, a, 200, request.query.saved ? { notice: a.ctx.t('account.saved') } : {});
  });

  app.post<Form>('/account', form('Hosted page: update your profile'), async (request, reply) => {
    const a = await account(request, reply, 'profile');
    if (!a) return reply;
    const body = bodyOf(request);
    checkCsrf(a.ctx, request, body);
    const field = (k: string) => {
      const v = (body[k] ?? '').trim().slice(0, 200);
      return v === '' ? null : v;
    };
    try {
      await updateOwnProfile(gh, a.ctx.tenant, a.who, { name: field('name'), given_name: field('given_name'), family_name: field('family_name') }, auditContext(request));
    } catch (err) {
      return profilePage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
    }
    return seeOther(reply, `${a.ctx.tenant.issuer}/account?saved=1`);
  });

  // --- password ---
  function passwordPage(reply: FastifyReply, a: Account, status: number, o: { notice?: string; error?: Html | string } = {}) {
    return sendPage(
      reply,
      status,
      formPage(a.ctx, {
        title: a.ctx.t('account.password'),
        nav: nav(a, 'password'),
        ...(o.notice ? { notice: o.notice } : {}),
        error: o.error,
        action: `${a.ctx.tenant.issuer}/account/password`,
        csrf: a.csrf,
        // The email, for password managers to file the new password under the account.
        before: html`<input type="hidden" name="username" autocomplete="username" value="${a.user.email}">`,
        fields: [
          { name: 'current_password', label: a.ctx.t('password.current'), type: 'password', autocomplete: 'current-password' },
          { name: 'new_password', label: a.ctx.t('reset.password'), type: 'password', autocomplete: 'new-password' },
          { name: 'password_confirm', label: a.ctx.t('reset.confirm'), type: 'password', autocomplete: 'new-password' },
        ],
        submit: a.ctx.t('password.submit'),
        links: signOutForm(a),
      }),
    );
  }

  app.get<{ Querystring: { changed?: string } }>('/account/password', get('Hosted page: change your password'), async (request, reply) => {
    const a = await account(request, reply, 'password');
    if (!a) return reply;
    // With a second factor enrolled, a change needs a recent step-up: ask for it before the form, not after.
    try {
      await requireRecentAal2IfEnrolled(gh, request);
    } catch (err) {
      if (needsStepUp(err)) return stepUpPage(reply, a, 'password', 200);
      throw err;
    }
    return passwordPage(reply, a, 200, request.query.changed ? { notice: a.ctx.t('password.changed') } : {});
  });

  app.post<Form>('/account/password', form('Hosted page: change your password'), async (request, reply) => {
    const a = await account(request, reply, 'password');
    if (!a) return reply;
    const body = bodyOf(request);
    checkCsrf(a.ctx, request, body);
    const newPassword = (body.new_password ?? '').slice(0, 4096);
    if (newPassword !== (body.password_confirm ?? '')) return passwordPage(reply, a, 400, { error: a.ctx.t('reset.mismatch') });
    try {
      await requireRecentAal2IfEnrolled(gh, request);
      await changeOwnPassword(gh, a.ctx.tenant, a.who, { currentPassword: (body.current_password ?? '').slice(0, 4096), newPassword }, auditContext(request));
    } catch (err) {
      if (needsStepUp(err)) return stepUpPage(reply, a, 'password', 403);
      return passwordPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
    }
    return seeOther(reply, `${a.ctx.tenant.issuer}/account/password?changed=1`);
  });

  // --- security: authenticator app, backup codes, passkeys ---
  async function securityPage(reply: FastifyReply, a: Account, status: number, o: { notice?: string; error?: Html | string } = {}) {
    const { factors, backupLeft, passkeys } = await withTenantTx(gh.db, a.ctx.tenant.id, async (tx) => ({
      factors: await listActiveFactors(tx, a.user.id),
      backupLeft: await remainingBackupCodes(tx, a.user.id),
      passkeys: await listUserCredentials(tx, a.user.id),
    }));
    const t = a.ctx.t;
    const base = a.ctx.tenant.issuer;
    const csrf = html`<input type="hidden" name="csrf" value="${a.csrf}">`;
    const totp = factors.some((f) => f.type === 'totp');
    const body = html`${o.notice ? html`<p class="ok" role="status">${o.notice}</p>` : ''}${o.error ? html`<div class="error" role="alert" id="form-error">${o.error}</div>` : ''}
<h2>${t('security.totp')}</h2>
<p>${totp ? t('security.totp_on') : t('security.totp_off')}</p>
${
  totp
    ? html`<form method="post" action="${base}/account/security/totp/remove" class="inline">${csrf}<button type="submit" class="secondary">${t('security.totp_remove')}</button></form>
<p class="muted">${t('security.backup_codes')}: ${backupLeft}</p>`
    : html`<form method="post" action="${base}/account/security/totp" class="inline">${csrf}<button type="submit">${t('security.totp_add')}</button></form>`
}
<h2>${t('security.passkeys')}</h2>
${
  passkeys.length
    ? html`<ul class="items">${passkeys.map(
        (p) => html`<li><strong>${p.name}</strong><br><span class="muted">${p.created_at.toISOString().slice(0, 10)}</span>
<form method="post" action="${base}/account/security/passkeys/${p.id}/remove" class="inline">${csrf}<button type="submit" class="secondary" aria-label="${t('security.passkey_remove')}: ${p.name}">${t('security.passkey_remove')}</button></form></li>`,
      )}</ul>`
    : html`<p class="muted">${t('security.no_passkeys')}</p>`
}
<form method="post" action="${base}/account/security/passkeys/new" class="inline">${csrf}<button type="submit">${t('security.passkey_add')}</button></form>`;
    return sendPage(reply, status, accountPage(a, 'security', t('security.title'), body));
  }

  app.get('/account/security', get('Hosted page: your second factors and passkeys'), async (request, reply) => {
    const a = await account(request, reply, 'security');
    if (!a) return reply;
    return securityPage(reply, a, 200);
  });

  function totpPage(reply: FastifyReply, a: Account, status: number, enrollment: { qr_svg: string; manual_entry_key: string } | null, error?: Html | string) {
    const t = a.ctx.t;
    return sendPage(
      reply,
      status,
      formPage(a.ctx, {
        title: t('totp.title'),
        nav: nav(a, 'security'),
        error,
        intro: enrollment ? t('totp.scan') : undefined,
        // The SVG comes from the qrcode library (paths only), not from user input.
        before: enrollment ? html`<div class="qr" aria-hidden="true">${new Html(enrollment.qr_svg.replace(/^<\?xml[^>]*>/, ''))}</div><p>${t('totp.key')}: <code>${enrollment.manual_entry_key}</code></p>` : undefined,
        action: `${a.ctx.tenant.issuer}/account/security/totp/confirm`,
        csrf: a.csrf,
        fields: [{ name: 'code', label: t('totp.code'), autocomplete: 'one-time-code', inputmode: 'numeric', maxlength: 6 }],
        submit: t('totp.submit'),
        links: signOutForm(a),
      }),
    );
  }

  app.post<Form>('/account/security/totp', form('Hosted page: start setting up an authenticator app (QR code and key)'), async (request, reply) => {
    const a = await account(request, reply, 'security');
    if (!a) return reply;
    checkCsrf(a.ctx, request, bodyOf(request));
    try {
      await requireRecentAal2IfEnrolled(gh, request);
      const enrollment = await startTotpEnrollment(gh, a.ctx.tenant, a.user, auditContext(request));
      return totpPage(reply, a, 200, enrollment);
    } catch (err) {
      if (needsStepUp(err)) return stepUpPage(reply, a, 'security', 403);
      return securityPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
    }
  });

  app.post<Form>('/account/security/totp/confirm', form('Hosted page: confirm the authenticator app with a code'), async (request, reply) => {
    const a = await account(request, reply, 'security');
    if (!a) return reply;
    const body = bodyOf(request);
    checkCsrf(a.ctx, request, body);
    const code = (body.code ?? '').replace(/\s/g, '');
    let r: Awaited<ReturnType<typeof confirmTotpEnrollment>>;
    try {
      if (!/^[0-9]{6}$/.test(code)) throw new AppError('MFA_CODE_INVALID');
      r = await confirmTotpEnrollment(gh, a.ctx.tenant, a.user.id, code, auditContext(request));
    } catch (err) {
      if (err instanceof AppError && err.code === 'MFA_ENROLLMENT_NOT_FOUND') return securityPage(reply, a, 404, { error: errorView(a.ctx, err) });
      return totpPage(reply, a, (err as { status?: number }).status ?? 400, null, errorView(a.ctx, err));
    }
    const t = a.ctx.t;
    const codes = r.backup_codes ?? [];
    const body2 = html`<p class="ok" role="status">${t('security.totp_on')}</p>${
      codes.length ? html`<p>${t('totp.done')}</p><ol class="codes">${codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>` : ''
    }<p class="links"><a href="${a.ctx.tenant.issuer}/account/security">${t('security.title')}</a></p>`;
    return sendPage(reply, 200, accountPage(a, 'security', t('totp.title'), body2));
  });

  app.post<Form>('/account/security/totp/remove', form('Hosted page: remove the authenticator app (needs a recent second factor)'), async (request, reply) => {
    const a = await account(request, reply, 'security');
    if (!a) return reply;
    checkCsrf(a.ctx, request, bodyOf(request));
    try {
      await removeOwnTotp(gh, a.ctx.tenant, a.user.id, auditContext(request), () => requireRecentAal2(gh, request));
    } catch (err) {
      if (needsStepUp(err)) return stepUpPage(reply, a, 'security', 403);
      return securityPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
    }
    return seeOther(reply, `${a.ctx.tenant.issuer}/account/security`);
  });

  app.post<Form & { Params: { id: string } }>(
    '/account/security/passkeys/:id/remove',
    { ...form('Hosted page: remove a passkey (needs a recent second factor)'), schema: { ...form('').schema, summary: 'Hosted page: remove a passkey (needs a recent second factor)', params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } } },
    async (request, reply) => {
      const a = await account(request, reply, 'security');
      if (!a) return reply;
      checkCsrf(a.ctx, request, bodyOf(request));
      try {
        await removeOwnPasskey(gh, a.ctx.tenant, a.user.id, request.params.id, auditContext(request), () => requireRecentAal2(gh, request));
      } catch (err) {
        if (needsStepUp(err)) return stepUpPage(reply, a, 'security', 403);
        return securityPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
      }
      return seeOther(reply, `${a.ctx.tenant.issuer}/account/security`);
    },
  );

  // --- passkeys: the one page with a script (navigator.credentials.create has no form equivalent) ---
  /** The guards of the passkey API: a sign-in within 15 minutes, and a recent second factor once one is enrolled. */
  async function passkeyGuards(request: FastifyRequest, reply: FastifyReply, a: Account): Promise<boolean> {
    try {
      await requireRecentAuthentication(gh, a.ctx.tenant, request.auth!);
      await requireRecentAal2IfEnrolled(gh, request);
      return true;
    } catch (err) {
      if (needsStepUp(err)) await stepUpPage(reply, a, 'security', 403);
      else if (err instanceof AppError && err.code === 'REAUTHENTICATION_REQUIRED') await securityPage(reply, a, 403, { error: a.ctx.t('passkey.relogin') });
      else throw err;
      return false;
    }
  }

  app.post<Form>('/account/security/passkeys/new', form('Hosted page: start adding a passkey (creation options on the page)'), async (request, reply) => {
    const a = await account(request, reply, 'security');
    if (!a) return reply;
    checkCsrf(a.ctx, request, bodyOf(request));
    if (!(await passkeyGuards(request, reply, a))) return reply;
    let options: Awaited<ReturnType<typeof registrationOptions>>;
    try {
      options = await registrationOptions(gh, a.ctx.tenant, a.user);
    } catch (err) {
      return securityPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
    }
    const t = a.ctx.t;
    allowScript(request, PASSKEY_SCRIPT_HASH);
    const body = html`<p>${t('passkey.prompt')}</p><p id="passkey-error" class="error" role="alert" hidden></p>
<noscript><p class="error" role="alert">${t('passkey.needs_js')}</p></noscript>
<form method="post" action="${a.ctx.tenant.issuer}/account/security/passkeys" id="passkey-form" data-options="${JSON.stringify(options)}">
  <input type="hidden" name="csrf" value="${a.csrf}"><input type="hidden" name="response" value="">
  <label for="name">${t('passkey.name')}</label>
  <input id="name" name="name" type="text" maxlength="64" autocomplete="off" autofocus>
  <button type="submit">${t('passkey.submit')}</button>
</form><script>${new Html(PASSKEY_SCRIPT)}</script>`;
    return sendPage(reply, 200, accountPage(a, 'security', t('passkey.title'), body));
  });

  app.post<Form>('/account/security/passkeys', form('Hosted page: finish adding a passkey (the authenticator response, as JSON in a form field)'), async (request, reply) => {
    const a = await account(request, reply, 'security');
    if (!a) return reply;
    const body = bodyOf(request);
    checkCsrf(a.ctx, request, body);
    const response = registrationField(body.response);
    if (!response) return securityPage(reply, a, 400, { error: a.ctx.t('passkey.needs_js') });
    if (!(await passkeyGuards(request, reply, a))) return reply;
    try {
      await verifyRegistration(gh, a.ctx.tenant, a.user, { response, name: (body.name ?? '').trim().slice(0, 64) || undefined }, auditContext(request));
    } catch (err) {
      return securityPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
    }
    await notifyUserOfMfaChange(gh, a.ctx.tenant, a.user.id, 'mfa_enabled', { type: 'webauthn' });
    return securityPage(reply, a, 200, { notice: a.ctx.t('passkey.added') });
  });

  // --- sessions / devices ---
  async function sessionsPage(reply: FastifyReply, a: Account, status: number, o: { notice?: string; error?: Html | string } = {}) {
    const sessions = await withTenantTx(gh.db, a.ctx.tenant.id, (tx) => listUserSessions(tx, a.user.id));
    const t = a.ctx.t;
    const base = a.ctx.tenant.issuer;
    const csrf = html`<input type="hidden" name="csrf" value="${a.csrf}">`;
    const when = (d: Date) => new Date(d).toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
    const items = sessions.map((s) => {
      const current = s.id === a.session.id;
      return html`<li><strong>${s.user_agent || t('sessions.unknown_device')}</strong>${current ? html` <span class="muted">(${t('sessions.this')})</span>` : ''}<br>
<span class="muted">${s.ip ?? ''} · ${t('sessions.started')}: ${when(s.created_at)} · ${t('sessions.last_active')}: ${when(s.last_active_at)}</span>
${
  current
    ? html`<form method="post" action="${base}/logout" class="inline">${csrf}<button type="submit" class="secondary">${t('sessions.revoke')}</button></form>`
    : html`<form method="post" action="${base}/account/sessions/${s.id}/revoke" class="inline">${csrf}<button type="submit" class="secondary">${t('sessions.revoke')}</button></form>`
}</li>`;
    });
    const body = html`${o.notice ? html`<p class="ok" role="status">${o.notice}</p>` : ''}${o.error ? html`<div class="error" role="alert">${o.error}</div>` : ''}
<ul class="items">${items}</ul>
${sessions.length > 1 ? html`<form method="post" action="${base}/account/sessions/revoke-others">${csrf}<button type="submit">${t('sessions.revoke_others')}</button></form>` : ''}`;
    return sendPage(reply, status, accountPage(a, 'sessions', t('sessions.title'), body));
  }

  app.get<{ Querystring: { done?: string } }>('/account/sessions', get('Hosted page: your signed-in devices'), async (request, reply) => {
    const a = await account(request, reply, 'sessions');
    if (!a) return reply;
    return sessionsPage(reply, a, 200, request.query.done ? { notice: a.ctx.t('sessions.revoked') } : {});
  });

  app.post<Form & { Params: { id: string } }>(
    '/account/sessions/:id/revoke',
    { ...form(''), schema: { ...form('').schema, summary: 'Hosted page: sign out one of your devices', params: { type: 'object', properties: { id: { type: 'string', format: 'uuid' } } } } },
    async (request, reply) => {
      const a = await account(request, reply, 'sessions');
      if (!a) return reply;
      checkCsrf(a.ctx, request, bodyOf(request));
      try {
        await revokeOwnSession(gh, a.ctx.tenant, a.who, request.params.id, auditContext(request));
      } catch (err) {
        return sessionsPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
      }
      return seeOther(reply, `${a.ctx.tenant.issuer}/account/sessions?done=1`);
    },
  );

  app.post<Form>('/account/sessions/revoke-others', form('Hosted page: sign out everywhere else'), async (request, reply) => {
    const a = await account(request, reply, 'sessions');
    if (!a) return reply;
    checkCsrf(a.ctx, request, bodyOf(request));
    await revokeOtherSessions(gh, a.ctx.tenant, a.who, auditContext(request));
    return seeOther(reply, `${a.ctx.tenant.issuer}/account/sessions?done=1`);
  });

  // --- connected apps (OAuth applications let into the account) ---
  async function applicationsPage(reply: FastifyReply, a: Account, status: number, o: { notice?: string; error?: Html | string } = {}) {
    const apps = await listOwnApplications(gh, a.ctx.tenant, a.user.id);
    return sendPage(reply, status, accountPage(a, 'applications', a.ctx.t('apps.title'), applicationsBody(a.ctx, apps, { csrf: a.csrf, ...o })));
  }

  app.get<{ Querystring: { done?: string } }>('/account/applications', get('Hosted page: applications with access to your account'), async (request, reply) => {
    const a = await account(request, reply, 'applications');
    if (!a) return reply;
    return applicationsPage(reply, a, 200, request.query.done ? { notice: a.ctx.t('apps.removed') } : {});
  });

  app.post<Form & { Params: { client_id: string } }>(
    '/account/applications/:client_id/revoke',
    {
      ...form(''),
      schema: { ...form('').schema, summary: "Hosted page: remove an application's access", params: { type: 'object', properties: { client_id: { type: 'string', minLength: 1, maxLength: 100 } } } },
    },
    async (request, reply) => {
      const a = await account(request, reply, 'applications');
      if (!a) return reply;
      checkCsrf(a.ctx, request, bodyOf(request));
      try {
        await revokeOwnApplication(gh, a.ctx.tenant, a.user.id, request.params.client_id, auditContext(request));
      } catch (err) {
        return applicationsPage(reply, a, (err as { status?: number }).status ?? 400, { error: errorView(a.ctx, err) });
      }
      return seeOther(reply, `${a.ctx.tenant.issuer}/account/applications?done=1`);
    },
  );
}
