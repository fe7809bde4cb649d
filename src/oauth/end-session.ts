import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { recordAudit, type AuditContext } from '../audit/audit.ts';
import { denyRevokedSessions } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { auditContext, requireTenant } from '../http/request-context.ts';
import { revokeSessions } from '../session/session.queries.ts';
import { constantTimeEqual, sha256 } from '../shared/crypto.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';
import { clearBrowserSession, readBrowserSession } from './authorize/browser-session.ts';
import { findClient } from './clients/client.queries.ts';
import { singleParams } from './form-body.ts';
import { InvalidRequest } from './oauth-error.ts';
import { allowFormTarget, brandOf, html, page } from './pages/layout.ts';
import { renderMessagePage } from './pages/consent-page.ts';
import { text } from './pages/page-text.ts';
import { negotiateLocale, uiLocale } from '../i18n/locale.ts';

/** Verifies an ID token this tenant issued; an expired one is still a valid hint (OIDC RP-Initiated Logout §2). */
async function verifyIdTokenHint(gh: Gatehouse, tenant: ResolvedTenant, token: string): Promise<JWTPayload> {
  const key = async (header: { kid?: string; alg?: string }) => {
    const k = header.kid ? await gh.keys.verifyKey(tenant.id, header.kid) : undefined;
    if (!k || header.alg !== k.alg) throw new Error('unknown key');
    return k.publicKey;
  };
  try {
    return (await jwtVerify(token, key, { issuer: tenant.issuer, algorithms: ['ES256', 'RS256'], typ: 'JWT' })).payload;
  } catch (err) {
    // jose checks the signature before the claims: an expired token here is authentic.
    if (err instanceof joseErrors.JWTExpired && err.payload.iss === tenant.issuer) return err.payload;
    throw InvalidRequest('id_token_hint is not a valid ID token of this issuer.');
  }
}

/** The logout confirmation's CSRF token: derived from the session cookie, which a cross-site page cannot read. */
const logoutCsrf = (cookie: string) => sha256(`logout:${cookie}`);

/**
 * RP-initiated logout (OIDC RP-Initiated Logout 1.0). With a valid id_token_hint the session it names ends at once;
 * without one the user confirms on a page (a cross-site link cannot sign anyone out). The grants opened from that
 * session end with it, except offline ones. post_logout_redirect_uri must be registered for the client (exact).
 */
export async function endSessionRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  async function endSession(request: FastifyRequest, reply: FastifyReply, raw: unknown) {
    const tenant = await requireTenant(gh, request);
    const params = singleParams(raw);
    const hint = params.id_token_hint ? await verifyIdTokenHint(gh, tenant, params.id_token_hint) : undefined;
    const clientId = typeof hint?.aud === 'string' ? hint.aud : params.client_id;
    if (hint && params.client_id && params.client_id !== clientId) throw InvalidRequest('client_id does not match the id_token_hint.');
    let redirect: string | undefined;
    if (params.post_logout_redirect_uri) {
      if (!clientId) throw InvalidRequest('post_logout_redirect_uri needs id_token_hint or client_id.');
      const client = await withTenantTx(gh.db, tenant.id, (tx) => findClient(tx, clientId));
      if (!client || !client.post_logout_redirect_uris.includes(params.post_logout_redirect_uri)) {
        throw InvalidRequest('post_logout_redirect_uri is not registered for this application.');
      }
      redirect = params.post_logout_redirect_uri;
    }
    // ui_locales (RP-Initiated Logout 1.0 §2): the client's language first, as on the sign-in pages.
    const locale = uiLocale(params.ui_locales) ?? negotiateLocale(request.headers['accept-language']);
    const current = await readBrowserSession(gh, tenant, request);
    const confirmed = current && params.csrf && constantTimeEqual(params.csrf, logoutCsrf(current.cookie));
    if (!hint && current && !confirmed) {
      if (redirect) allowFormTarget(request, redirect);
      const hidden = Object.entries(params)
        .filter(([k]) => ['post_logout_redirect_uri', 'state', 'client_id', 'ui_locales'].includes(k))
        .map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`);
      return reply.code(200).type('text/html; charset=utf-8').send(
        page({
          lang: locale,
          brand: brandOf(tenant),
          title: text(locale, 'logout.confirm'),
          tenantName: tenant.name,
          body: html`<form method="post" action="${tenant.issuer}/oauth/end_session"><input type="hidden" name="csrf" value="${logoutCsrf(current.cookie)}">${hidden}<button type="submit">${text(locale, 'logout.submit')}</button></form>`,
        }),
      );
    }
    // The session to end: the one the hint names (if it is this user's), else the browser's own.
    const sid = typeof hint?.sid === 'string' ? hint.sid : current?.id;
    if (sid) await endBrowserSession(gh, tenant, sid, auditContext(request), { hint, clientId: clientId ?? null });
    if (current && (!hint || current.id === sid)) clearBrowserSession(reply, tenant);
    reply.header('cache-control', 'no-store');
    if (redirect) {
      const url = new URL(redirect);
      if (params.state) url.searchParams.set('state', params.state);
      return reply.redirect(url.href, 303);
    }
    return reply.code(200).type('text/html; charset=utf-8').send(renderMessagePage({ brand: brandOf(tenant), locale, tenantName: tenant.name, title: text(locale, 'logout.done.title'), message: text(locale, 'logout.done') }));
  }

  const schema = { tags: ['oauth'], summary: 'RP-initiated logout' };
  app.get('/oauth/end_session', { schema, config: { oauthErrors: 'html' } }, (request, reply) => endSession(request, reply, request.query));
  app.post('/oauth/end_session', { schema: { ...schema, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' } }, (request, reply) =>
    endSession(request, reply, request.body),
  );
}

/**
 * Ends a hosted browser session (a `sessions` row without a client) and the grant sessions it opened, except those
 * with offline_access (they outlive the sign-in by design); audited as oauth.logout. With an id_token_hint, only when
 * the hint names the session's user. Used by end_session and the account pages' sign-out.
 */
export async function endBrowserSession(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  sid: string,
  ctx: AuditContext,
  o: { hint?: { sub?: unknown } | undefined; clientId?: string | null } = {},
): Promise<void> {
  const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
    const own = await tx.query<{ user_id: string }>(`SELECT user_id FROM sessions WHERE id = $1 AND client_id IS NULL`, [sid]);
    const userId = own.rows[0]?.user_id;
    if (!userId || (o.hint && o.hint.sub !== userId)) return [];
    const children = await tx.query<{ id: string }>(
      `SELECT id FROM sessions WHERE parent_session_id = $1 AND revoked_at IS NULL AND NOT ('offline_access' = ANY (coalesce(scopes, '{}')))`,
      [sid],
    );
    const ids = await revokeSessions(tx, [sid, ...children.rows.map((r) => r.id)], 'logout');
    await recordAudit(tx, { ...ctx, actorType: 'user', actorId: userId }, { action: 'oauth.logout', subjectId: userId, details: { session_id: sid, client_id: o.clientId ?? null, sessions_revoked: ids.length } });
    return ids;
  });
  await denyRevokedSessions(gh, tenant, revoked);
}
