import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { recordAudit } from '../../audit/audit.ts';
import { login } from '../../auth/auth.service.ts';
import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import { AppError } from '../../errors/app-error.ts';
import { auditContext, requireTenant } from '../../http/request-context.ts';
import { findUserById } from '../../identity/user.queries.ts';
import { negotiateLocale, uiLocale, type Locale } from '../../i18n/locale.ts';
import { translate } from '../../i18n/messages.ts';
import { revokeSessions } from '../../session/session.queries.ts';
import { constantTimeEqual } from '../../shared/crypto.ts';
import { effectiveSettings } from '../../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { findClient } from '../clients/client.queries.ts';
import { AccessDenied, OAuthError } from '../oauth-error.ts';
import { renderConsentPage } from '../pages/consent-page.ts';
import { renderLoginPage } from '../pages/login-page.ts';
import { renderMfaPage } from '../pages/mfa-page.ts';
import { completeMfaChallenge, consumeMfaChallenge, createMfaChallenge, LOGIN_CHALLENGE_TTL, readMfaChallenge } from '../../mfa/mfa-challenge.ts';
import { currentSignals } from '../../risk/login-risk.ts';
import { verifyFactor, type FactorInput } from '../../mfa/verify-factor.ts';
import type { TokenResponse } from '../../auth/auth.service.ts';
import { allowFormTarget, brandOf } from '../pages/layout.ts';
import { text, type TextKey } from '../pages/page-text.ts';
import { AAL2_ACR, issueCode, nextStep } from './authorization.ts';
import { attachBrowserSession, readBrowserSession, sameBrowser } from './browser-session.ts';
import { rememberConsent } from './consent.queries.ts';
import { loadInteraction, saveInteraction, takeInteraction, type Interaction } from './interaction.ts';
import { redirectError } from './redirect.ts';
import { denyRevokedSessions } from '../../auth/auth.service.ts';
import { signInLinks } from '../../hosted/sign-in-links.ts';
import { passkeyAssertForm, registrationField, webauthnField } from '../../hosted/passkey-forms.ts';
import { secondStepChoices } from '../../hosted/second-step.ts';
import { backupCodesPage } from '../../hosted/mfa-enroll-pages.ts';
import { enrollStepPage } from '../../hosted/enroll-step.ts';
import { confirmChallengePasskeyEnrollment, confirmChallengeTotpEnrollment } from '../../mfa/enroll-sign-in.ts';

const expired = () => new OAuthError('invalid_request', 'This sign-in request has expired or is unknown. Go back to the application and start again.', { allowRedirect: false });

/** The hosted pages' language: the client's ui_locales when it names a shipped one, else the browser's. */
function pageLocale(request: FastifyRequest, interaction: Interaction): Locale {
  return uiLocale(interaction.request.uiLocales) ?? negotiateLocale(request.headers['accept-language']);
}

/**
 * The hosted pages between /authorize and the code: sign-in (the password login of the first-party API, with its
 * throttling, lockout and risk checks) and consent. Each page belongs to one interaction, bound to the browser that
 * started it; each form carries the interaction's CSRF token.
 */
export async function interactionRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  type P = { Params: { id: string } };
  const params = { type: 'object', properties: { id: { type: 'string', maxLength: 64 } } } as const;
  const html = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);

  async function load(request: FastifyRequest<P>): Promise<{ tenant: ResolvedTenant; interaction: Interaction }> {
    const tenant = await requireTenant(gh, request);
    const interaction = await loadInteraction(gh.kv, tenant.id, request.params.id);
    if (!interaction || !sameBrowser(request, interaction.bindingHash)) throw expired();
    return { tenant, interaction };
  }

  function checkCsrf(interaction: Interaction, body: Record<string, string>) {
    if (!body.csrf || !constantTimeEqual(body.csrf, interaction.csrf)) throw new OAuthError('invalid_request', 'The form expired or was not sent from this page. Go back and try again.', { status: 403, allowRedirect: false });
  }

  async function clientOf(tenant: ResolvedTenant, interaction: Interaction) {
    const client = await withTenantTx(gh.db, tenant.id, (tx) => findClient(tx, interaction.request.clientId));
    if (!client) throw expired();
    return client;
  }

  /** Where the interaction stands: show the login or consent page, or issue the code. */
  async function advance(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant, interaction: Interaction, error?: string, errorStatus = 401): Promise<unknown> {
    const client = await clientOf(tenant, interaction);
    const session = await readBrowserSession(gh, tenant, request);
    const signedInHere = !!session && session.id === interaction.sessionId;
    const step = await nextStep(gh, tenant, client, interaction.request, session, { forceLogin: interaction.forceLogin, signedInHere });
    const base = `${tenant.issuer}/oauth/interaction/${interaction.id}`;
    const locale = pageLocale(request, interaction);
    allowFormTarget(request, interaction.request.redirectUri);
    if (step === 'step_up' && !interaction.mfaToken) {
      // acr_values asked for a second factor this browser session has not passed: a challenge for its user, kept
      // server-side like a sign-in's; passing it opens an aal2 session that replaces this one.
      const challenge = await createMfaChallenge(
        gh,
        { tenantId: tenant.id, userId: session!.user_id, purpose: 'login', amr: session!.amr, details: { step_up: true, acr_values: AAL2_ACR }, signals: currentSignals(request.ip, request.headers['user-agent'] ?? null, null) },
        LOGIN_CHALLENGE_TTL,
      );
      interaction = { ...interaction, mfaToken: challenge.mfa_token };
      await saveInteraction(gh.kv, interaction);
    }
    if ((step === 'login' || step === 'step_up') && interaction.mfaToken) {
      // The code field for the factors that take one; "use a passkey" when the user has one: the assertion options on
      // the page, answered by its one hashed script.
      const challenge = await readMfaChallenge(gh, tenant, interaction.mfaToken, 'login').catch(() => undefined);
      const choices = challenge ? await secondStepChoices(gh, tenant, challenge.userId) : { code: true };
      const ctx = { tenant, locale, t: (k: TextKey) => text(locale, k) };
      const after = choices.passkey ? passkeyAssertForm(request, ctx, { action: `${base}/mfa`, csrf: interaction.csrf, options: choices.passkey, primary: !choices.code }) : undefined;
      return html(reply, error ? errorStatus : 200, renderMfaPage({ brand: brandOf(tenant), locale, tenantName: tenant.name, clientName: client.name, action: `${base}/mfa`, csrf: interaction.csrf, code: choices.code, ...(error ? { error } : {}), ...(after ? { after } : {}) }));
    }
    if (step === 'login' && interaction.mfaEnrollToken) {
      // The tenant requires a second factor this user has not set up: set one up here (a passkey, or an authenticator
      // app), then the sign-in continues.
      const ctx = { tenant, locale, t: (k: TextKey) => text(locale, k) };
      let body: string;
      try {
        body = await enrollStepPage(gh, request, ctx, { mfaToken: interaction.mfaEnrollToken, action: `${base}/enroll`, csrf: interaction.csrf, error });
      } catch (err) {
        if (!(err instanceof AppError && (err.code === 'MFA_TOKEN_EXPIRED' || err.code === 'MFA_TOKEN_INVALID'))) throw err;
        // The enrollment challenge ran out: back to the password form, saying why.
        const again = { ...interaction, mfaEnrollToken: null };
        await saveInteraction(gh.kv, again);
        return refused(request, reply, tenant, again, err);
      }
      return html(reply, error ? errorStatus : 200, body);
    }
    if (step === 'login') {
      return html(reply, error ? errorStatus : 200, renderLoginPage({ brand: brandOf(tenant), locale, tenantName: tenant.name, clientName: client.name, action: `${base}/login`, csrf: interaction.csrf, email: interaction.request.loginHint, links: signInLinks(tenant, locale), ...(error ? { error } : {}) }));
    }
    if (step === 'consent') {
      const user = await withTenantTx(gh.db, tenant.id, (tx) => findUserById(tx, session!.user_id));
      return html(reply, 200, renderConsentPage({ brand: brandOf(tenant), locale, tenantName: tenant.name, clientName: client.name, email: user?.email ?? '', scopes: interaction.request.scopes, action: `${base}/consent`, csrf: interaction.csrf }));
    }
    if (!(await takeInteraction(gh.kv, interaction))) throw expired();
    return issueCode(gh, tenant, reply, interaction.request, session!);
  }

  app.get<P>('/oauth/interaction/:id', { schema: { tags: ['oauth'], summary: 'Hosted sign-in or consent page', params }, config: { oauthErrors: 'html' } }, async (request, reply) => {
    const { tenant, interaction } = await load(request);
    return advance(request, reply, tenant, interaction);
  });

  app.post<P & { Body: Record<string, string> }>(
    '/oauth/interaction/:id/login',
    { schema: { tags: ['oauth'], summary: 'Hosted sign-in form (email and password)', params, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' } },
    async (request, reply) => {
      const { tenant, interaction } = await load(request);
      const body = request.body ?? {};
      checkCsrf(interaction, body);
      const email = (body.email ?? '').slice(0, 254);
      const password = (body.password ?? '').slice(0, 4096);
      if (!email || !password) return advance(request, reply, tenant, { ...interaction, request: { ...interaction.request, loginHint: email } }, text(pageLocale(request, interaction), 'signin.missing'), 400);
      const retry = { ...interaction, request: { ...interaction.request, loginHint: email } };
      let r: Awaited<ReturnType<typeof login>>;
      try {
        r = await login(gh, tenant, { email, password }, auditContext(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
      } catch (err) {
        return refused(request, reply, tenant, retry, err);
      }
      if ('mfa_required' in r) {
        // Either the second factor is due, or (tenant policy, grace over) one must be set up first: the page after the
        // redirect asks for it; the challenge stays here, server-side.
        await saveInteraction(gh.kv, r.mfa_enrollment_required ? { ...retry, mfaToken: null, mfaEnrollToken: r.mfa_token } : { ...retry, mfaToken: r.mfa_token, mfaEnrollToken: null });
        return reply.code(303).header('cache-control', 'no-store').redirect(`${tenant.issuer}/oauth/interaction/${interaction.id}`, 303);
      }
      return signedIn(request, reply, tenant, interaction, r);
    },
  );

  /** A refused sign-in step (wrong password, locked, throttled, wrong code): the same page again, with the reason. */
  function refused(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant, interaction: Interaction, err: unknown, status?: number): Promise<unknown> {
    if (!(err instanceof AppError) || !err.expose) throw err;
    if (err.headers) reply.headers(err.headers);
    const locale = pageLocale(request, interaction);
    const message = err.messageKey ? translate(locale, err.messageKey, err.params) : err.message;
    return advance(request, reply, tenant, interaction, message, status ?? err.status);
  }

  /** The sign-in is complete: its session becomes this browser's session, replacing any earlier one. */
  async function signedIn(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant, interaction: Interaction, r: TokenResponse) {
    await attachSignIn(request, reply, tenant, interaction, r);
    return reply.code(303).header('cache-control', 'no-store').redirect(`${tenant.issuer}/oauth/interaction/${interaction.id}`, 303);
  }

  async function attachSignIn(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant, interaction: Interaction, r: TokenResponse) {
    // The session the login opened (its id is the access token's sid; the token itself is discarded).
    const sid = decodeJwt(r.access_token).sid as string;
    const previous = await readBrowserSession(gh, tenant, request);
    const replaced = await withTenantTx(gh.db, tenant.id, async (tx) => {
      await attachBrowserSession(tx, reply, tenant, sid, effectiveSettings(tenant).session_absolute_ttl);
      return previous ? revokeSessions(tx, [previous.id], 'replaced') : [];
    });
    await denyRevokedSessions(gh, tenant, replaced);
    await saveInteraction(gh.kv, { ...interaction, sessionId: sid, mfaToken: null, mfaEnrollToken: null });
  }

  app.post<P & { Body: Record<string, string> }>(
    '/oauth/interaction/:id/enroll',
    { schema: { tags: ['oauth'], summary: 'Hosted enrollment step (tenant MFA policy): confirm the authenticator app with a code (or, at /enroll/passkey, register a passkey)', params, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' } },
    async (request, reply) => {
      const { tenant, interaction } = await load(request);
      const body = request.body ?? {};
      checkCsrf(interaction, body);
      if (!interaction.mfaEnrollToken) return advance(request, reply, tenant, interaction);
      const locale = pageLocale(request, interaction);
      const code = (body.code ?? '').replace(/\s/g, '').slice(0, 16);
      if (!/^[0-9]{6}$/.test(code)) return advance(request, reply, tenant, interaction, text(locale, 'enroll.code_missing'), 400);
      let enrolled: Awaited<ReturnType<typeof confirmChallengeTotpEnrollment>>;
      try {
        enrolled = await confirmChallengeTotpEnrollment(gh, tenant, interaction.mfaEnrollToken, code, auditContext(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
      } catch (err) {
        if (err instanceof AppError && (err.code === 'MFA_TOKEN_EXPIRED' || err.code === 'MFA_TOKEN_INVALID')) {
          const again = { ...interaction, mfaEnrollToken: null };
          await saveInteraction(gh.kv, again);
          return refused(request, reply, tenant, again, err);
        }
        // A wrong code: the same page (the same QR code), the challenge still usable until it expires.
        return refused(request, reply, tenant, interaction, err, err instanceof AppError && err.code === 'MFA_CODE_INVALID' ? 400 : undefined);
      }
      return enrolledPage(request, reply, tenant, interaction, enrolled);
    },
  );

  app.post<P & { Body: Record<string, string> }>(
    '/oauth/interaction/:id/enroll/passkey',
    {
      schema: {
        tags: ['oauth'],
        summary: 'Hosted enrollment step (tenant MFA policy): register the passkey or security key chosen instead of an app (the attestation as JSON in a form field)',
        params,
        consumes: ['application/x-www-form-urlencoded'],
      },
      config: { oauthErrors: 'html' },
    },
    async (request, reply) => {
      const { tenant, interaction } = await load(request);
      const body = request.body ?? {};
      checkCsrf(interaction, body);
      if (!interaction.mfaEnrollToken) return advance(request, reply, tenant, interaction);
      const response = registrationField(body.response);
      if (!response) return advance(request, reply, tenant, interaction, text(pageLocale(request, interaction), 'passkey.needs_js'), 400);
      let enrolled: Awaited<ReturnType<typeof confirmChallengePasskeyEnrollment>>;
      try {
        enrolled = await confirmChallengePasskeyEnrollment(gh, tenant, interaction.mfaEnrollToken, { response }, auditContext(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
      } catch (err) {
        if (err instanceof AppError && (err.code === 'MFA_TOKEN_EXPIRED' || err.code === 'MFA_TOKEN_INVALID')) {
          const again = { ...interaction, mfaEnrollToken: null };
          await saveInteraction(gh.kv, again);
          return refused(request, reply, tenant, again, err);
        }
        // Refused: the step again, with fresh options; the challenge stays usable until it expires.
        return refused(request, reply, tenant, interaction, err);
      }
      return enrolledPage(request, reply, tenant, interaction, enrolled);
    },
  );

  /** A factor was enrolled and the session opened: it becomes this browser's, then the backup codes once (or straight on). */
  async function enrolledPage(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant, interaction: Interaction, enrolled: { tokens: TokenResponse; backup_codes?: string[] }) {
    await attachSignIn(request, reply, tenant, interaction, enrolled.tokens);
    const next = `${tenant.issuer}/oauth/interaction/${interaction.id}`;
    if (!enrolled.backup_codes?.length) return reply.code(303).header('cache-control', 'no-store').redirect(next, 303);
    // "Continue" leads on to consent or the code, whose redirect to the client this page's form-action must allow.
    allowFormTarget(request, interaction.request.redirectUri);
    const locale = pageLocale(request, interaction);
    return html(reply, 200, backupCodesPage({ tenant, locale, t: (k: TextKey) => text(locale, k) }, { codes: enrolled.backup_codes, next }));
  }

  app.post<P & { Body: Record<string, string> }>(
    '/oauth/interaction/:id/mfa',
    { schema: { tags: ['oauth'], summary: 'Hosted second step (authenticator-app code or backup code)', params, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' } },
    async (request, reply) => {
      const { tenant, interaction } = await load(request);
      const body = request.body ?? {};
      checkCsrf(interaction, body);
      if (!interaction.mfaToken) return advance(request, reply, tenant, interaction);
      const code = (body.code ?? '').trim().slice(0, 64);
      const webauthn = webauthnField(body.webauthn);
      if (!code && !webauthn) return advance(request, reply, tenant, interaction, text(pageLocale(request, interaction), 'mfa.missing'), 400);
      const ctx = auditContext(request);
      let r: TokenResponse;
      try {
        const challenge = await readMfaChallenge(gh, tenant, interaction.mfaToken, 'login');
        const input: FactorInput = webauthn ? { webauthn } : /^[0-9]{6}$/.test(code) ? { code } : { backup_code: code };
        const factor = await verifyFactor(gh, tenant, challenge.userId, input, ctx, 'login');
        await consumeMfaChallenge(gh, tenant, interaction.mfaToken);
        r = await completeMfaChallenge(gh, tenant, challenge, factor.amr, factor.method, ctx, { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
      } catch (err) {
        // An expired or used challenge: back to the password form.
        const again = err instanceof AppError && (err.code === 'MFA_TOKEN_EXPIRED' || err.code === 'MFA_TOKEN_INVALID') ? { ...interaction, mfaToken: null } : interaction;
        if (again !== interaction) await saveInteraction(gh.kv, again);
        return refused(request, reply, tenant, again, err);
      }
      return signedIn(request, reply, tenant, interaction, r);
    },
  );

  app.post<P & { Body: Record<string, string> }>(
    '/oauth/interaction/:id/consent',
    { schema: { tags: ['oauth'], summary: 'Hosted consent form (allow or deny)', params, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' } },
    async (request, reply) => {
      const { tenant, interaction } = await load(request);
      const body = request.body ?? {};
      checkCsrf(interaction, body);
      const session = await readBrowserSession(gh, tenant, request);
      if (!session) return advance(request, reply, tenant, interaction);
      const req = interaction.request;
      if (body.decision === 'deny') {
        if (!(await takeInteraction(gh.kv, interaction))) throw expired();
        return redirectError(reply, tenant, req.redirectUri, req.state, AccessDenied('The user denied access.'));
      }
      if (body.decision !== 'allow') throw new OAuthError('invalid_request', 'Choose Allow or Deny.', { allowRedirect: false });
      await withTenantTx(gh.db, tenant.id, async (tx) => {
        await rememberConsent(tx, session.user_id, req.clientId, req.scopes);
        await recordAudit(tx, { ...auditContext(request), actorType: 'user', actorId: session.user_id }, { action: 'oauth.consent.granted', subjectId: session.user_id, details: { client_id: req.clientId, scopes: req.scopes } });
      });
      const client = await clientOf(tenant, interaction);
      const step = await nextStep(gh, tenant, client, req, session, { forceLogin: interaction.forceLogin, signedInHere: session.id === interaction.sessionId, consented: true });
      if (step !== 'issue') return advance(request, reply, tenant, interaction);
      if (!(await takeInteraction(gh.kv, interaction))) throw expired();
      return issueCode(gh, tenant, reply, req, session);
    },
  );
}
