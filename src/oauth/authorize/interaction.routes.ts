import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { recordAudit } from '../../audit/audit.ts';
import { login } from '../../auth/auth.service.ts';
import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import { AppError } from '../../errors/app-error.ts';
import { auditContext, requireTenant } from '../../http/request-context.ts';
import { findUserById } from '../../identity/user.queries.ts';
import { negotiateLocale } from '../../i18n/locale.ts';
import { translate } from '../../i18n/messages.ts';
import { revokeSessions } from '../../session/session.queries.ts';
import { constantTimeEqual } from '../../shared/crypto.ts';
import { effectiveSettings } from '../../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import { findClient } from '../clients/client.queries.ts';
import { AccessDenied, OAuthError } from '../oauth-error.ts';
import { renderConsentPage } from '../pages/consent-page.ts';
import { renderLoginPage } from '../pages/login-page.ts';
import { allowFormTarget, brandOf } from '../pages/layout.ts';
import { text } from '../pages/page-text.ts';
import { issueCode, nextStep } from './authorization.ts';
import { attachBrowserSession, readBrowserSession, sameBrowser } from './browser-session.ts';
import { rememberConsent } from './consent.queries.ts';
import { loadInteraction, saveInteraction, takeInteraction, type Interaction } from './interaction.ts';
import { redirectError } from './redirect.ts';
import { denyRevokedSessions } from '../../auth/auth.service.ts';

const expired = () => new OAuthError('invalid_request', 'This sign-in request has expired or is unknown. Go back to the application and start again.', { allowRedirect: false });

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
  async function advance(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant, interaction: Interaction, error?: string, errorStatus = 401) {
    const client = await clientOf(tenant, interaction);
    const session = await readBrowserSession(gh, tenant, request);
    const signedInHere = !!session && session.id === interaction.sessionId;
    const step = await nextStep(gh, tenant, client, interaction.request, session, { forceLogin: interaction.forceLogin, signedInHere });
    const base = `${tenant.issuer}/oauth/interaction/${interaction.id}`;
    const locale = negotiateLocale(request.headers['accept-language']);
    allowFormTarget(request, interaction.request.redirectUri);
    if (step === 'login') {
      return html(reply, error ? errorStatus : 200, renderLoginPage({ brand: brandOf(tenant), locale, tenantName: tenant.name, clientName: client.name, action: `${base}/login`, csrf: interaction.csrf, email: interaction.request.loginHint, ...(error ? { error } : {}) }));
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
      if (!email || !password) return advance(request, reply, tenant, { ...interaction, request: { ...interaction.request, loginHint: email } }, text(negotiateLocale(request.headers['accept-language']), 'signin.missing'), 400);
      let sid: string;
      try {
        const r = await login(gh, tenant, { email, password }, auditContext(request), { ip: request.ip, userAgent: request.headers['user-agent'] ?? null });
        // The session the login opened (its id is the access token's sid; the token itself is discarded).
        sid = decodeJwt(r.access_token).sid as string;
      } catch (err) {
        if (!(err instanceof AppError) || !err.expose) throw err;
        if (err.headers) reply.headers(err.headers);
        const locale = negotiateLocale(request.headers['accept-language']);
        const message = err.messageKey ? translate(locale, err.messageKey, err.params) : err.message;
        return advance(request, reply, tenant, { ...interaction, request: { ...interaction.request, loginHint: email } }, message, err.status);
      }
      const previous = await readBrowserSession(gh, tenant, request);
      const replaced = await withTenantTx(gh.db, tenant.id, async (tx) => {
        await attachBrowserSession(tx, reply, tenant, sid, effectiveSettings(tenant).session_absolute_ttl);
        return previous ? revokeSessions(tx, [previous.id], 'replaced') : [];
      });
      await denyRevokedSessions(gh, tenant, replaced);
      await saveInteraction(gh.kv, { ...interaction, sessionId: sid });
      return reply.code(303).header('cache-control', 'no-store').redirect(`${tenant.issuer}/oauth/interaction/${interaction.id}`, 303);
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
