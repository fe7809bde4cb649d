import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { login, register, type TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { acceptLanguage } from '../email-flows/email-flows.routes.ts';
import { registerPendingVerification } from '../email-flows/email-verification.ts';
import { AppError } from '../errors/app-error.ts';
import { translate } from '../i18n/messages.ts';
import { auditContext, requireTenant } from '../http/request-context.ts';
import { completeMfaChallenge, consumeMfaChallenge, readMfaChallenge } from '../mfa/mfa-challenge.ts';
import { verifyFactor, type FactorInput } from '../mfa/verify-factor.ts';
import { clearBrowserSession, readBrowserSession } from '../oauth/authorize/browser-session.ts';
import { renderLoginPage } from '../oauth/pages/login-page.ts';
import { renderMfaPage } from '../oauth/pages/mfa-page.ts';
import { brandOf } from '../oauth/pages/layout.ts';
import { endBrowserSession } from '../oauth/end-session.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { continueWithMfa } from './email-pages.routes.ts';
import { bodyOf, checkCsrf, csrfToken, errorView, formPage, links, messagePage, pageCtx, seeOther, sendPage, type PageCtx } from './hosted-page.ts';
import { becomeBrowserSession, clearPendingSignIn, loadPendingSignIn, safeReturnTo, type PendingSignIn } from './hosted-session.ts';
import { passkeyAssertForm, registrationField, webauthnField } from './passkey-forms.ts';
import { confirmChallengePasskeyEnrollment, confirmChallengeTotpEnrollment } from '../mfa/enroll-sign-in.ts';
import { enrollStepPage } from './enroll-step.ts';
import { backupCodesPage } from './mfa-enroll-pages.ts';
import { secondStepChoices } from './second-step.ts';
import { signInLinks } from './sign-in-links.ts';

type Form = { Body: Record<string, string> };
const form = (summary: string) => ({ schema: { tags: ['hosted-pages'], summary, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' as const } });
const get = (summary: string) => ({ schema: { tags: ['hosted-pages'], summary }, config: { oauthErrors: 'html' as const } });

/**
 * The tenant's own sign-in outside OAuth (/login?return_to=/account), its second step (/login/mfa), sign-up and
 * sign-out. The password and second-factor steps call the same services as the OAuth interaction: auth.service
 * login(), then readMfaChallenge → verifyFactor → completeMfaChallenge, the challenge kept server-side.
 */
export async function signInRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const client = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
  const absolute = (ctx: PageCtx, path: string) => new URL(path, ctx.tenant.issuer).href;

  function loginForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, returnTo: string, status: number, error?: string, email?: string) {
    const csrf = csrfToken(request, reply, ctx.tenant);
    const action = `${ctx.tenant.issuer}/login?return_to=${encodeURIComponent(returnTo)}`;
    const body = renderLoginPage({ brand: brandOf(ctx.tenant), locale: ctx.locale, tenantName: ctx.tenant.name, clientName: ctx.t('signin.account'), action, csrf, email: email ?? null, ...(error ? { error } : {}), links: signInLinks(ctx.tenant, ctx.locale) });
    return sendPage(reply, status, body);
  }

  app.get<{ Querystring: { return_to?: string } }>('/login', get('Hosted page: sign in to the account pages'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const returnTo = safeReturnTo(ctx.tenant, request.query.return_to);
    if (await readBrowserSession(gh, ctx.tenant, request)) return seeOther(reply, absolute(ctx, returnTo));
    return loginForm(request, reply, ctx, returnTo, 200);
  });

  app.post<Form & { Querystring: { return_to?: string } }>('/login', form('Hosted page: the sign-in form (email and password)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const returnTo = safeReturnTo(ctx.tenant, request.query.return_to);
    const email = (body.email ?? '').slice(0, 254);
    const password = (body.password ?? '').slice(0, 4096);
    if (!email || !password) return loginForm(request, reply, ctx, returnTo, 400, ctx.t('signin.missing'), email);
    let r: Awaited<ReturnType<typeof login>>;
    try {
      r = await login(gh, ctx.tenant, { email, password }, auditContext(request), client(request));
    } catch (err) {
      if (err instanceof AppError && err.headers) reply.headers(err.headers);
      return loginForm(request, reply, ctx, returnTo, (err as { status?: number }).status ?? 400, errorView(ctx, err).value.replace(/<[^>]*>/g, ''), email);
    }
    if ('mfa_required' in r) return continueWithMfa(gh, ctx, request, reply, r, returnTo);
    await becomeBrowserSession(gh, ctx.tenant, request, reply, r);
    return seeOther(reply, absolute(ctx, returnTo));
  });

  /**
   * The second-step page: the code form for the factors that take a code, and "use a passkey" when the user has one
   * (a fresh ceremony each time); a passkey-only user sees the passkey button alone.
   */
  async function mfaForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, pending: PendingSignIn, status: number, error?: string) {
    const csrf = csrfToken(request, reply, ctx.tenant);
    const action = `${ctx.tenant.issuer}/login/mfa`;
    const challenge = await readMfaChallenge(gh, ctx.tenant, pending.mfaToken, 'login').catch(() => undefined);
    const choices = challenge ? await secondStepChoices(gh, ctx.tenant, challenge.userId) : { code: true };
    const after = choices.passkey ? passkeyAssertForm(request, ctx, { action, csrf, options: choices.passkey, primary: !choices.code }) : undefined;
    const body = renderMfaPage({ brand: brandOf(ctx.tenant), locale: ctx.locale, tenantName: ctx.tenant.name, clientName: ctx.tenant.name, action, csrf, code: choices.code, ...(error ? { error } : {}), ...(after ? { after } : {}) });
    return sendPage(reply, status, body);
  }

  /** The pending sign-in of this browser if it is at `purpose`; else where to go instead (its other step, or /login). */
  async function pendingAt(request: FastifyRequest, ctx: PageCtx, purpose: 'login' | 'enroll'): Promise<PendingSignIn | string> {
    const pending = await loadPendingSignIn(gh, ctx.tenant, request);
    if (!pending) return `${ctx.tenant.issuer}/login`;
    const at = pending.purpose ?? 'login';
    if (at !== purpose) return `${ctx.tenant.issuer}/login/mfa${at === 'enroll' ? '/enroll' : ''}`;
    return pending;
  }

  app.get('/login/mfa', get('Hosted page: the second step of a sign-in'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const pending = await pendingAt(request, ctx, 'login');
    if (typeof pending === 'string') return seeOther(reply, pending);
    return mfaForm(request, reply, ctx, pending, 200);
  });

  app.post<Form>('/login/mfa', form('Hosted page: the second-step form (authenticator-app code or backup code)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const pending = await pendingAt(request, ctx, 'login');
    if (typeof pending === 'string') return seeOther(reply, pending);
    const code = (body.code ?? '').trim().slice(0, 64);
    const webauthn = webauthnField(body.webauthn);
    if (!code && !webauthn) return mfaForm(request, reply, ctx, pending, 400, ctx.t('mfa.missing'));
    const auditCtx = auditContext(request);
    let r: TokenResponse;
    try {
      const challenge = await readMfaChallenge(gh, ctx.tenant, pending.mfaToken, 'login');
      const input: FactorInput = webauthn ? { webauthn } : /^[0-9]{6}$/.test(code) ? { code } : { backup_code: code };
      const factor = await verifyFactor(gh, ctx.tenant, challenge.userId, input, auditCtx, 'login');
      await consumeMfaChallenge(gh, ctx.tenant, pending.mfaToken);
      r = await completeMfaChallenge(gh, ctx.tenant, challenge, factor.amr, factor.method, auditCtx, client(request));
    } catch (err) {
      if (err instanceof AppError && (err.code === 'MFA_TOKEN_EXPIRED' || err.code === 'MFA_TOKEN_INVALID')) {
        await clearPendingSignIn(gh, ctx.tenant, pending);
        return seeOther(reply, `${ctx.tenant.issuer}/login`);
      }
      if (err instanceof AppError && err.headers) reply.headers(err.headers);
      return mfaForm(request, reply, ctx, pending, (err as { status?: number }).status ?? 400, errorView(ctx, err).value.replace(/<[^>]*>/g, ''));
    }
    await clearPendingSignIn(gh, ctx.tenant, pending);
    await becomeBrowserSession(gh, ctx.tenant, request, reply, r);
    return seeOther(reply, absolute(ctx, safeReturnTo(ctx.tenant, pending.returnTo)));
  });

  // --- enrollment step: the tenant requires a second factor the user has not set up (grace period over) ---
  /** The enrollment step of the pending sign-in (the same QR code again when shown twice), or /login when it ran out. */
  async function enrollForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, pending: PendingSignIn, status: number, error?: ReturnType<typeof errorView> | string) {
    const csrf = csrfToken(request, reply, ctx.tenant);
    let body: string;
    try {
      body = await enrollStepPage(gh, request, ctx, { mfaToken: pending.mfaToken, action: `${ctx.tenant.issuer}/login/mfa/enroll`, csrf, error });
    } catch (err) {
      if (!(err instanceof AppError && (err.code === 'MFA_TOKEN_EXPIRED' || err.code === 'MFA_TOKEN_INVALID'))) throw err;
      await clearPendingSignIn(gh, ctx.tenant, pending);
      return loginForm(request, reply, ctx, safeReturnTo(ctx.tenant, pending.returnTo), err.status, translate(ctx.locale, err.messageKey ?? err.code, err.params));
    }
    return sendPage(reply, status, body);
  }

  /** A factor was enrolled and the session opened: this browser's session, then the backup codes once (or straight on). */
  async function enrolledPage(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, pending: PendingSignIn, enrolled: { tokens: TokenResponse; backup_codes?: string[] }) {
    await clearPendingSignIn(gh, ctx.tenant, pending);
    await becomeBrowserSession(gh, ctx.tenant, request, reply, enrolled.tokens);
    const next = absolute(ctx, safeReturnTo(ctx.tenant, pending.returnTo));
    if (!enrolled.backup_codes?.length) return seeOther(reply, next);
    return sendPage(reply, 200, backupCodesPage(ctx, { codes: enrolled.backup_codes, next }));
  }

  app.get('/login/mfa/enroll', get('Hosted page: set up the second factor the tenant requires, during sign-in'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const pending = await pendingAt(request, ctx, 'enroll');
    if (typeof pending === 'string') return seeOther(reply, pending);
    return enrollForm(request, reply, ctx, pending, 200);
  });

  app.post<Form>('/login/mfa/enroll', form('Hosted page: confirm the authenticator app with a code; signs in and shows the backup codes once'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const pending = await pendingAt(request, ctx, 'enroll');
    if (typeof pending === 'string') return seeOther(reply, pending);
    const code = (body.code ?? '').replace(/\s/g, '').slice(0, 16);
    if (!/^[0-9]{6}$/.test(code)) return enrollForm(request, reply, ctx, pending, 400, ctx.t('enroll.code_missing'));
    let enrolled: Awaited<ReturnType<typeof confirmChallengeTotpEnrollment>>;
    try {
      enrolled = await confirmChallengeTotpEnrollment(gh, ctx.tenant, pending.mfaToken, code, auditContext(request), client(request));
    } catch (err) {
      if (err instanceof AppError && err.headers) reply.headers(err.headers);
      // A wrong code: the same page (the same QR code), the challenge still usable until it expires.
      const status = err instanceof AppError && err.code === 'MFA_CODE_INVALID' ? 400 : ((err as { status?: number }).status ?? 400);
      return enrollForm(request, reply, ctx, pending, status, errorView(ctx, err));
    }
    return enrolledPage(request, reply, ctx, pending, enrolled);
  });

  app.post<Form>(
    '/login/mfa/enroll/passkey',
    form('Hosted page: register the passkey or security key chosen at the enrollment step (the attestation, as JSON in a form field); signs in and shows the backup codes once'),
    async (request, reply) => {
      const ctx = pageCtx(await requireTenant(gh, request), request);
      const body = bodyOf(request);
      checkCsrf(ctx, request, body);
      const pending = await pendingAt(request, ctx, 'enroll');
      if (typeof pending === 'string') return seeOther(reply, pending);
      const response = registrationField(body.response);
      if (!response) return enrollForm(request, reply, ctx, pending, 400, ctx.t('passkey.needs_js'));
      let enrolled: Awaited<ReturnType<typeof confirmChallengePasskeyEnrollment>>;
      try {
        enrolled = await confirmChallengePasskeyEnrollment(gh, ctx.tenant, pending.mfaToken, { response }, auditContext(request), client(request));
      } catch (err) {
        if (err instanceof AppError && err.headers) reply.headers(err.headers);
        // Refused (or the challenge ran out, which the page turns into the password form): the step again, fresh options.
        return enrollForm(request, reply, ctx, pending, (err as { status?: number }).status ?? 400, errorView(ctx, err));
      }
      return enrolledPage(request, reply, ctx, pending, enrolled);
    },
  );

  // --- sign-up (open registration only) ---
  function signupForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, status: number, error?: ReturnType<typeof errorView> | string, v: { email?: string; name?: string } = {}) {
    return sendPage(
      reply,
      status,
      formPage(ctx, {
        title: ctx.t('signup.title'),
        error,
        action: `${ctx.tenant.issuer}/signup`,
        csrf: csrfToken(request, reply, ctx.tenant),
        fields: [
          { name: 'email', label: ctx.t('signin.email'), type: 'email', autocomplete: 'email', value: v.email ?? null },
          { name: 'name', label: ctx.t('signup.name'), autocomplete: 'name', required: false, value: v.name ?? null, maxlength: 200 },
          { name: 'password', label: ctx.t('reset.password'), type: 'password', autocomplete: 'new-password' },
        ],
        submit: ctx.t('signup.submit'),
        links: links([[`${ctx.tenant.issuer}/login`, ctx.t('signup.have_account')]]),
      }),
    );
  }
  const closed = (ctx: PageCtx, reply: FastifyReply) =>
    sendPage(reply, 403, messagePage(ctx, { title: ctx.t('signup.title'), message: ctx.t('signup.closed'), error: true, links: links([[`${ctx.tenant.issuer}/login`, ctx.t('hosted.back_signin')]]) }));

  app.get('/signup', get('Hosted page: sign up (when the tenant allows open registration)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    if (effectiveSettings(ctx.tenant).registration !== 'open') return closed(ctx, reply);
    return signupForm(request, reply, ctx, 200);
  });

  app.post<Form>('/signup', form('Hosted page: the sign-up form'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const settings = effectiveSettings(ctx.tenant);
    if (settings.registration !== 'open') return closed(ctx, reply);
    const email = (body.email ?? '').trim().slice(0, 254);
    const name = (body.name ?? '').trim().slice(0, 200);
    const input = { email, password: (body.password ?? '').slice(0, 4096), name: name || undefined };
    if (!email.includes('@')) return signupForm(request, reply, ctx, 400, ctx.t('forgot.missing'), { email, name });
    try {
      // Same branch as POST /auth/register: with required verification nothing signs in until the link is used.
      if (settings.email_verification === 'required') {
        await registerPendingVerification(gh, ctx.tenant, input, auditContext(request), acceptLanguage(request));
        return sendPage(reply, 200, messagePage(ctx, { title: ctx.t('signup.check_mail.title'), message: ctx.t('signup.check_mail') }));
      }
      const r = await register(gh, ctx.tenant, input, auditContext(request), client(request), { acceptLanguage: acceptLanguage(request) });
      if ('mfa_required' in r) return continueWithMfa(gh, ctx, request, reply, r, safeReturnTo(ctx.tenant, '/account'));
      await becomeBrowserSession(gh, ctx.tenant, request, reply, r);
    } catch (err) {
      return signupForm(request, reply, ctx, (err as { status?: number }).status ?? 400, errorView(ctx, err), { email, name });
    }
    return seeOther(reply, `${ctx.tenant.issuer}/account`);
  });

  // --- sign out (this browser's hosted session) ---
  app.post<Form>('/logout', form('Hosted page: sign out of the hosted session'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    checkCsrf(ctx, request, bodyOf(request));
    const session = await readBrowserSession(gh, ctx.tenant, request);
    if (session) await endBrowserSession(gh, ctx.tenant, session.id, auditContext(request));
    clearBrowserSession(reply, ctx.tenant);
    return sendPage(reply, 200, messagePage(ctx, { title: ctx.t('logout.done.title'), message: ctx.t('logout.done'), links: links([[`${ctx.tenant.issuer}/login`, ctx.t('hosted.back_signin')]]) }));
  });
}
