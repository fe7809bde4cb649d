import type { FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { denyRevokedSessions, type TokenResponse } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { attachBrowserSession, browserBinding, readBrowserSession, sameBrowser } from '../oauth/authorize/browser-session.ts';
import { revokeSessions } from '../session/session.queries.ts';
import { ENROLL_CHALLENGE_TTL } from '../mfa/mfa-challenge.ts';
import { sha256 } from '../shared/crypto.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import type { ResolvedTenant } from '../tenancy/tenant-directory.ts';

/**
 * A sign-in finished on a self-service page (invitation, magic link, /login): the session it opened becomes this
 * browser's hosted session (the gh_session cookie of the OAuth sign-in), replacing an earlier one, exactly as the
 * OAuth interaction does. The first-party refresh token is retired; the access token is discarded.
 */
export async function becomeBrowserSession(gh: Gatehouse, tenant: ResolvedTenant, request: FastifyRequest, reply: FastifyReply, r: TokenResponse): Promise<void> {
  const sid = decodeJwt(r.access_token).sid as string;
  const previous = await readBrowserSession(gh, tenant, request);
  const replaced = await withTenantTx(gh.db, tenant.id, async (tx) => {
    await attachBrowserSession(tx, reply, tenant, sid, effectiveSettings(tenant).session_absolute_ttl);
    return previous && previous.id !== sid ? revokeSessions(tx, [previous.id], 'replaced') : [];
  });
  await denyRevokedSessions(gh, tenant, replaced);
}

/** A first factor passed and a second is due: the MFA challenge kept server-side, bound to this browser. */
export interface PendingSignIn {
  mfaToken: string;
  bindingHash: string;
  returnTo: string;
  /** `enroll`: the tenant's policy wants a factor set up first (an enrollment challenge, /login/mfa/enroll). */
  purpose?: 'login' | 'enroll';
}

const PENDING_TTL = 600;
const pendingKey = (tenantId: string, bindingHash: string) => `hosted:pending-signin:${tenantId}:${bindingHash}`;

export async function savePendingSignIn(gh: Gatehouse, tenant: ResolvedTenant, request: FastifyRequest, reply: FastifyReply, p: { mfaToken: string; returnTo: string; purpose?: 'login' | 'enroll' }) {
  const bindingHash = sha256(browserBinding(request, reply, tenant));
  const pending: PendingSignIn = { ...p, bindingHash };
  await gh.kv.set(pendingKey(tenant.id, bindingHash), JSON.stringify(pending), p.purpose === 'enroll' ? ENROLL_CHALLENGE_TTL : PENDING_TTL);
}

export async function loadPendingSignIn(gh: Gatehouse, tenant: ResolvedTenant, request: FastifyRequest): Promise<PendingSignIn | undefined> {
  const cookie = request.cookies.gh_browser;
  if (!cookie) return undefined;
  const raw = await gh.kv.get(pendingKey(tenant.id, sha256(cookie)));
  const p = raw ? (JSON.parse(raw) as PendingSignIn) : undefined;
  return p && sameBrowser(request, p.bindingHash) ? p : undefined;
}

export async function clearPendingSignIn(gh: Gatehouse, tenant: ResolvedTenant, p: PendingSignIn) {
  await gh.kv.delete(pendingKey(tenant.id, p.bindingHash));
}

/** Only paths of this tenant's pages are followed after sign-in (no open redirect). */
export function safeReturnTo(tenant: ResolvedTenant, value: unknown): string {
  const path = new URL(tenant.issuer).pathname.replace(/\/$/, '');
  const fallback = `${path}/account`;
  if (typeof value !== 'string' || value.length > 200) return fallback;
  if (!/^\/[A-Za-z0-9/_-]*$/.test(value) || value.includes('//')) return fallback;
  if (path && !value.startsWith(`${path}/`)) return `${path}${value}`;
  return value;
}
