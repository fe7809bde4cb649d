import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { acceptLanguage } from '../email-flows/email-flows.routes.ts';
import { confirmEmailChange } from '../email-flows/email-change.ts';
import { verifyEmail } from '../email-flows/email-verification.ts';
import { acceptInvitation } from '../email-flows/invitations.ts';
import { requestPasswordReset, resetPassword } from '../email-flows/password-reset.ts';
import { startPasswordless, verifyPasswordless } from '../email-flows/passwordless.ts';
import { auditContext, requireTenant } from '../http/request-context.ts';
import type { MfaChallengeResponse } from '../mfa/mfa-login.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { TextKey } from '../oauth/pages/page-text.ts';
import { bodyOf, checkCsrf, csrfToken, errorView, formPage, links, messagePage, pageCtx, queryToken, seeOther, sendPage, type PageCtx } from './hosted-page.ts';
import { becomeBrowserSession, savePendingSignIn } from './hosted-session.ts';

type Form = { Body: Record<string, string> };
const form = (summary: string) => ({ schema: { tags: ['hosted-pages'], summary, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' as const } });
const get = (summary: string) => ({ schema: { tags: ['hosted-pages'], summary }, config: { oauthErrors: 'html' as const } });

/**
 * A first factor passed on a page and MFA is due: continue at the hosted second step, or (tenant policy, grace over)
 * at the hosted enrollment step; the challenge is kept server-side, bound to this browser.
 */
export async function continueWithMfa(gh: Gatehouse, ctx: PageCtx, request: FastifyRequest, reply: FastifyReply, r: MfaChallengeResponse, returnTo: string) {
  const purpose = r.mfa_enrollment_required ? 'enroll' : 'login';
  await savePendingSignIn(gh, ctx.tenant, request, reply, { mfaToken: r.mfa_token, returnTo, purpose });
  return seeOther(reply, `${ctx.tenant.issuer}/login/mfa${purpose === 'enroll' ? '/enroll' : ''}`);
}

/**
 * The pages the mails link to: {issuer}/reset-password, /verify-email, /confirm-email-change, /accept-invitation and
 * /passwordless, each `?token=`, plus /forgot-password. A link never acts on GET (mail scanners fetch links): the
 * page shows a form whose POST calls the email-flow service.
 */
export async function emailPageRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const client = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
  const signInLink = (ctx: PageCtx) => links([[`${ctx.tenant.issuer}/login`, ctx.t('hosted.back_signin')]]);
  const invalidLink = (ctx: PageCtx, reply: FastifyReply, title: string) =>
    sendPage(reply, 400, messagePage(ctx, { title, message: ctx.t('hosted.link_invalid'), error: true, links: signInLink(ctx) }));

  // --- forgot / reset password ---
  async function forgotForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, status: number, error?: ReturnType<typeof errorView> | string, email?: string) {
    return sendPage(
      reply,
      status,
      formPage(ctx, {
        title: ctx.t('forgot.title'),
        intro: ctx.t('forgot.prompt'),
        error,
        action: `${ctx.tenant.issuer}/forgot-password`,
        csrf: csrfToken(request, reply, ctx.tenant),
        fields: [{ name: 'email', label: ctx.t('signin.email'), type: 'email', autocomplete: 'email', value: email ?? null }],
        submit: ctx.t('forgot.submit'),
        links: signInLink(ctx),
      }),
    );
  }

  app.get('/forgot-password', get('Hosted page: ask for a password-reset link'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    return forgotForm(request, reply, ctx, 200);
  });

  app.post<Form>('/forgot-password', form('Hosted page: mail a password-reset link (same answer for every address)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const email = (body.email ?? '').trim().slice(0, 254);
    if (!email.includes('@')) return forgotForm(request, reply, ctx, 400, ctx.t('forgot.missing'), email);
    try {
      await requestPasswordReset(gh, ctx.tenant, email, auditContext(request), acceptLanguage(request));
    } catch (err) {
      return forgotForm(request, reply, ctx, (err as { status?: number }).status ?? 400, errorView(ctx, err), email);
    }
    return sendPage(reply, 200, messagePage(ctx, { title: ctx.t('forgot.sent.title'), message: ctx.t('forgot.sent'), links: signInLink(ctx) }));
  });

  function resetForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, token: string, status: number, error?: ReturnType<typeof errorView> | string) {
    return sendPage(
      reply,
      status,
      formPage(ctx, {
        title: ctx.t('reset.title'),
        error,
        action: `${ctx.tenant.issuer}/reset-password`,
        csrf: csrfToken(request, reply, ctx.tenant),
        hidden: { token },
        fields: [
          { name: 'password', label: ctx.t('reset.password'), type: 'password', autocomplete: 'new-password' },
          { name: 'password_confirm', label: ctx.t('reset.confirm'), type: 'password', autocomplete: 'new-password' },
        ],
        submit: ctx.t('reset.submit'),
      }),
    );
  }

  app.get('/reset-password', get('Hosted page: the mailed reset link (new-password form)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const token = queryToken(request);
    if (!token) return invalidLink(ctx, reply, ctx.t('reset.title'));
    return resetForm(request, reply, ctx, token, 200);
  });

  app.post<Form>('/reset-password', form('Hosted page: set the new password with the mailed token'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const token = (body.token ?? '').slice(0, 200);
    const password = (body.password ?? '').slice(0, 4096);
    if (!token) return invalidLink(ctx, reply, ctx.t('reset.title'));
    if (password !== (body.password_confirm ?? '')) return resetForm(request, reply, ctx, token, 400, ctx.t('reset.mismatch'));
    try {
      await resetPassword(gh, ctx.tenant, { token, password }, auditContext(request));
    } catch (err) {
      return resetForm(request, reply, ctx, token, (err as { status?: number }).status ?? 400, errorView(ctx, err));
    }
    return sendPage(reply, 200, messagePage(ctx, { title: ctx.t('reset.done.title'), message: ctx.t('reset.done'), links: signInLink(ctx) }));
  });

  // --- one-button confirmations: verify email, confirm email change ---
  function confirmPage(
    path: string,
    keys: { title: TextKey; prompt: TextKey; submit: TextKey; doneTitle: TextKey; done: TextKey },
    act: (ctx: PageCtx, request: FastifyRequest, token: string) => Promise<void>,
  ) {
    const show = (request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, token: string, status: number, error?: ReturnType<typeof errorView>) =>
      sendPage(
        reply,
        status,
        formPage(ctx, { title: ctx.t(keys.title), intro: ctx.t(keys.prompt), error, action: `${ctx.tenant.issuer}/${path}`, csrf: csrfToken(request, reply, ctx.tenant), hidden: { token }, fields: [], submit: ctx.t(keys.submit) }),
      );
    app.get(`/${path}`, get(`Hosted page: the mailed ${path} link (a button; nothing happens on GET)`), async (request, reply) => {
      const ctx = pageCtx(await requireTenant(gh, request), request);
      const token = queryToken(request);
      if (!token) return invalidLink(ctx, reply, ctx.t(keys.title));
      return show(request, reply, ctx, token, 200);
    });
    app.post<Form>(`/${path}`, form(`Hosted page: confirm the ${path} link`), async (request, reply) => {
      const ctx = pageCtx(await requireTenant(gh, request), request);
      const body = bodyOf(request);
      checkCsrf(ctx, request, body);
      const token = (body.token ?? '').slice(0, 200);
      if (!token) return invalidLink(ctx, reply, ctx.t(keys.title));
      try {
        await act(ctx, request, token);
      } catch (err) {
        return show(request, reply, ctx, token, (err as { status?: number }).status ?? 400, errorView(ctx, err));
      }
      return sendPage(reply, 200, messagePage(ctx, { title: ctx.t(keys.doneTitle), message: ctx.t(keys.done), links: links([[`${ctx.tenant.issuer}/account`, ctx.t('done.continue')]]) }));
    });
  }

  confirmPage('verify-email', { title: 'verify.title', prompt: 'verify.prompt', submit: 'verify.submit', doneTitle: 'verify.done.title', done: 'verify.done' }, (ctx, request, token) =>
    verifyEmail(gh, ctx.tenant, token, auditContext(request)),
  );
  confirmPage('confirm-email-change', { title: 'change.title', prompt: 'change.prompt', submit: 'change.submit', doneTitle: 'change.done.title', done: 'change.done' }, (ctx, request, token) =>
    confirmEmailChange(gh, ctx.tenant, token, auditContext(request)),
  );

  // --- invitation: password (and name) → account, signed in here ---
  function inviteForm(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, token: string, status: number, error?: ReturnType<typeof errorView> | string, name?: string) {
    return sendPage(
      reply,
      status,
      formPage(ctx, {
        title: ctx.t('invite.title'),
        intro: ctx.t('invite.prompt'),
        error,
        action: `${ctx.tenant.issuer}/accept-invitation`,
        csrf: csrfToken(request, reply, ctx.tenant),
        hidden: { token },
        fields: [
          { name: 'name', label: ctx.t('invite.name'), autocomplete: 'name', required: false, value: name ?? null, maxlength: 200 },
          { name: 'password', label: ctx.t('reset.password'), type: 'password', autocomplete: 'new-password' },
        ],
        submit: ctx.t('invite.submit'),
      }),
    );
  }

  app.get('/accept-invitation', get('Hosted page: the mailed invitation link (account form)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const token = queryToken(request);
    if (!token) return invalidLink(ctx, reply, ctx.t('invite.title'));
    return inviteForm(request, reply, ctx, token, 200);
  });

  app.post<Form>('/accept-invitation', form('Hosted page: accept the invitation, create the account and sign in'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const token = (body.token ?? '').slice(0, 200);
    const name = (body.name ?? '').trim().slice(0, 200);
    if (!token) return invalidLink(ctx, reply, ctx.t('invite.title'));
    try {
      const r = await acceptInvitation(gh, ctx.tenant, { token, password: (body.password ?? '').slice(0, 4096), name: name || undefined }, auditContext(request), client(request));
      await becomeBrowserSession(gh, ctx.tenant, request, reply, r);
    } catch (err) {
      return inviteForm(request, reply, ctx, token, (err as { status?: number }).status ?? 400, errorView(ctx, err), name);
    }
    return seeOther(reply, `${ctx.tenant.issuer}/account`);
  });

  // --- passwordless: start form, and the mailed link (a button that signs in) ---
  const passwordlessOn = (ctx: PageCtx) => effectiveSettings(ctx.tenant).passwordless;

  function magicStart(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, status: number, error?: ReturnType<typeof errorView> | string) {
    return sendPage(
      reply,
      status,
      formPage(ctx, {
        title: ctx.t('magic.title'),
        intro: ctx.t('magic.start.prompt'),
        error,
        action: `${ctx.tenant.issuer}/passwordless/start`,
        csrf: csrfToken(request, reply, ctx.tenant),
        fields: [{ name: 'email', label: ctx.t('signin.email'), type: 'email', autocomplete: 'email' }],
        submit: ctx.t('magic.start.submit'),
        links: signInLink(ctx),
      }),
    );
  }

  function magicButton(request: FastifyRequest, reply: FastifyReply, ctx: PageCtx, token: string, status: number, error?: ReturnType<typeof errorView>) {
    return sendPage(
      reply,
      status,
      formPage(ctx, { title: ctx.t('magic.title'), intro: ctx.t('magic.prompt'), error, action: `${ctx.tenant.issuer}/passwordless`, csrf: csrfToken(request, reply, ctx.tenant), hidden: { token }, fields: [], submit: ctx.t('magic.submit') }),
    );
  }

  app.get('/passwordless', get('Hosted page: the mailed sign-in link (a button), or the form that asks for one'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const token = queryToken(request);
    if (token) return magicButton(request, reply, ctx, token, 200);
    if (!passwordlessOn(ctx)) return seeOther(reply, `${ctx.tenant.issuer}/login`);
    return magicStart(request, reply, ctx, 200);
  });

  app.post<Form>('/passwordless/start', form('Hosted page: mail a sign-in link (same answer for every address)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const email = (body.email ?? '').trim().slice(0, 254);
    if (!email.includes('@')) return magicStart(request, reply, ctx, 400, ctx.t('forgot.missing'));
    try {
      await startPasswordless(gh, ctx.tenant, { email, method: 'link' }, auditContext(request), acceptLanguage(request));
    } catch (err) {
      return magicStart(request, reply, ctx, (err as { status?: number }).status ?? 400, errorView(ctx, err));
    }
    return sendPage(reply, 200, messagePage(ctx, { title: ctx.t('forgot.sent.title'), message: ctx.t('forgot.sent'), links: signInLink(ctx) }));
  });

  app.post<Form>('/passwordless', form('Hosted page: sign in with the mailed link (then the second step when MFA is due)'), async (request, reply) => {
    const ctx = pageCtx(await requireTenant(gh, request), request);
    const body = bodyOf(request);
    checkCsrf(ctx, request, body);
    const token = (body.token ?? '').slice(0, 200);
    if (!token) return invalidLink(ctx, reply, ctx.t('magic.title'));
    let r: Awaited<ReturnType<typeof verifyPasswordless>>;
    try {
      r = await verifyPasswordless(gh, ctx.tenant, { token }, auditContext(request), client(request));
    } catch (err) {
      return magicButton(request, reply, ctx, token, (err as { status?: number }).status ?? 400, errorView(ctx, err));
    }
    if ('mfa_required' in r) return continueWithMfa(gh, ctx, request, reply, r, `${new URL(ctx.tenant.issuer).pathname.replace(/\/$/, '')}/account`);
    await becomeBrowserSession(gh, ctx.tenant, request, reply, r);
    return seeOther(reply, `${ctx.tenant.issuer}/account`);
  });
}
