import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { withTenantTx, type TenantDb } from '../../db/tenant-tx.ts';
import { SESSION_COLUMNS, type SessionRow } from '../../session/session.queries.ts';
import { constantTimeEqual, randomToken, sha256 } from '../../shared/crypto.ts';
import { effectiveSettings } from '../../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';

/**
 * The browser's sign-in at the hosted pages: a row of the one sessions table (opened by the password login), found
 * through the SHA-256 of a 256-bit cookie. The cookie is httpOnly, SameSite=Lax (it must come along when a client
 * redirects the browser to /authorize), Secure on https, and scoped to the tenant's issuer path.
 */
export const SESSION_COOKIE = 'gh_session';
/** A per-browser random value that binds an interaction (login, consent) to the browser that started it. */
export const BROWSER_COOKIE = 'gh_browser';

export function cookieOptions(tenant: ResolvedTenant, maxAge?: number) {
  const issuer = new URL(tenant.issuer);
  return {
    path: issuer.pathname.replace(/\/?$/, '/'),
    httpOnly: true,
    secure: issuer.protocol === 'https:',
    sameSite: 'lax' as const,
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}

export interface BrowserSession extends SessionRow {
  cookie: string;
}

/** The live browser session behind the request's cookie, if any; using it extends its idle expiry (never the absolute one). */
export async function readBrowserSession(gh: Gatehouse, tenant: ResolvedTenant, request: FastifyRequest): Promise<BrowserSession | undefined> {
  const cookie = request.cookies[SESSION_COOKIE];
  if (!cookie || cookie.length > 100) return undefined;
  const row = await withTenantTx(gh.db, tenant.id, async (tx) =>
    (
      await tx.query<SessionRow>(
        `UPDATE sessions SET last_active_at = now(), idle_expires_at = least(now() + make_interval(secs => $2::int), absolute_expires_at)
         WHERE cookie_hash = $1 AND revoked_at IS NULL AND idle_expires_at > now() AND absolute_expires_at > now()
         RETURNING ${SESSION_COLUMNS}`,
        [sha256(cookie), effectiveSettings(tenant).session_idle_ttl],
      )
    ).rows[0],
  );
  return row ? { ...row, cookie } : undefined;
}

/**
 * Turns a freshly opened session into the browser's: stores the cookie digest and retires the session's first-party
 * refresh token (the browser never holds it), then sets the cookie.
 */
export async function attachBrowserSession(tx: TenantDb, reply: FastifyReply, tenant: ResolvedTenant, sessionId: string, maxAge: number): Promise<void> {
  const cookie = randomToken(32);
  await tx.query(`UPDATE sessions SET cookie_hash = $2 WHERE id = $1`, [sessionId, sha256(cookie)]);
  await tx.query(`UPDATE refresh_tokens SET status = 'revoked' WHERE session_id = $1 AND status = 'active'`, [sessionId]);
  reply.setCookie(SESSION_COOKIE, cookie, cookieOptions(tenant, maxAge));
}

export function clearBrowserSession(reply: FastifyReply, tenant: ResolvedTenant) {
  reply.clearCookie(SESSION_COOKIE, cookieOptions(tenant));
}

/** The browser-binding value, set when absent. */
export function browserBinding(request: FastifyRequest, reply: FastifyReply, tenant: ResolvedTenant): string {
  const existing = request.cookies[BROWSER_COOKIE];
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const value = randomToken(32);
  reply.setCookie(BROWSER_COOKIE, value, cookieOptions(tenant, 400 * 86_400));
  return value;
}

export function sameBrowser(request: FastifyRequest, bindingHash: string): boolean {
  const value = request.cookies[BROWSER_COOKIE];
  return !!value && constantTimeEqual(sha256(value), bindingHash);
}
