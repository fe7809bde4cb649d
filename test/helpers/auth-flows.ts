import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { withTenantTx, type TenantDb } from '../../src/db/tenant-tx.ts';
import type { AccessClaims } from '../../src/tokens/access-token.ts';
import { bearer, login, STRONG_PASSWORD, type TestApp } from './test-app.ts';

/**
 * Flows shared by the token and session suites (test/e2e/tokens, test/e2e/sessions). Built on test-app.ts and
 * only through the public HTTP API, except where a test must reach into storage (tenantQuery).
 */

export type InjectResponse = Awaited<ReturnType<TestApp['app']['inject']>>;

/** The error code of an error response, or undefined. */
export function errorCode(res: InjectResponse): string | undefined {
  try {
    return (res.json() as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** A password that no policy (length, common lists, strength estimators) should refuse. */
export const freshPassword = () => `Zq-${randomBytes(12).toString('base64url')}-7!`;

export interface SignedIn {
  access: string;
  refresh: string;
  /** Session id (the `sid` claim). */
  sid: string;
  /** User id (the `sub` claim). */
  sub: string;
  claims: AccessClaims;
}

export function claimsOf(token: string): AccessClaims {
  return decodeJwt(token) as AccessClaims;
}

export function kidOf(token: string): string | undefined {
  return decodeProtectedHeader(token).kid;
}

function signedIn(body: { access_token: string; refresh_token: string }): SignedIn {
  const claims = claimsOf(body.access_token);
  return { access: body.access_token, refresh: body.refresh_token, sid: claims.sid, sub: claims.sub, claims };
}

/** Creates a user through the platform API: no session is opened (unlike /auth/register). */
export async function createUser(
  t: TestApp,
  slug: string,
  email: string,
  opts: { password?: string | null; role?: string } = {},
): Promise<{ id: string; email: string }> {
  const password = opts.password === undefined ? STRONG_PASSWORD : opts.password;
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/v1/platform/tenants/${slug}/users`,
    headers: bearer(t.platformToken),
    payload: { email, ...(password === null ? {} : { password }), ...(opts.role ? { role: opts.role } : {}) },
  });
  if (res.statusCode !== 201) throw new Error(`createUser ${email}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Logs in and insists on success. */
export async function signIn(t: TestApp, slug: string, email: string, password = STRONG_PASSWORD): Promise<SignedIn> {
  const res = await login(t, slug, email, password);
  if (res.statusCode !== 200) throw new Error(`login ${email}@${slug}: ${res.statusCode} ${res.body}`);
  return signedIn(res.json());
}

/** Exchanges a refresh token (body delivery). */
export function refreshWith(t: TestApp, slug: string, refreshToken: string, payload: Record<string, unknown> = {}) {
  return t.app.inject({ method: 'POST', url: `/t/${slug}/api/v1/auth/refresh`, payload: { refresh_token: refreshToken, ...payload } });
}

/** Refreshes and insists on success. */
export async function refreshOk(t: TestApp, slug: string, refreshToken: string): Promise<SignedIn> {
  const res = await refreshWith(t, slug, refreshToken);
  if (res.statusCode !== 200) throw new Error(`refresh@${slug}: ${res.statusCode} ${res.body}`);
  return signedIn(res.json());
}

export { signedIn as toSignedIn };

/** GET /t/{slug}/api/v1/me with a bearer token (or any raw Authorization header value). */
export function getMe(t: TestApp, slug: string, accessToken: string | null, rawAuthorization?: string) {
  const headers: Record<string, string> =
    rawAuthorization !== undefined ? { authorization: rawAuthorization } : accessToken ? bearer(accessToken) : {};
  return t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/me`, headers });
}

/** PATCH /api/v1/platform/tenants/{slug} with the platform credential; insists on success. */
export async function patchTenant(t: TestApp, slug: string, body: Record<string, unknown>) {
  const res = await t.app.inject({
    method: 'PATCH',
    url: `/api/v1/platform/tenants/${slug}`,
    headers: bearer(t.platformToken),
    payload: body,
  });
  if (res.statusCode !== 200) throw new Error(`patchTenant ${slug}: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Runs SQL in a transaction bound to the tenant (as the app role, under RLS). */
export function tenantQuery<T = Record<string, unknown>>(t: TestApp, tenantId: string, sql: string, params: unknown[] = []) {
  return withTenantTx(t.gh.db, tenantId, async (tx: TenantDb) => (await tx.query<T>(sql, params)).rows);
}

export interface AuditEventOut {
  id: string;
  action: string;
  actor_type: string;
  actor_id: string | null;
  subject_id: string | null;
  risk: string;
  details: Record<string, unknown>;
}

/** Audit events of the tenant, newest first, through the admin API. */
export async function auditEvents(t: TestApp, slug: string, adminAccess: string, action?: string): Promise<AuditEventOut[]> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/t/${slug}/api/v1/admin/audit`,
    headers: bearer(adminAccess),
    query: action ? { action } : {},
  });
  if (res.statusCode !== 200) throw new Error(`audit@${slug}: ${res.statusCode} ${res.body}`);
  return (res.json() as { events: AuditEventOut[] }).events;
}

/** The live sessions listed by GET /me/sessions. */
export async function mySessions(t: TestApp, slug: string, access: string) {
  const res = await t.app.inject({ method: 'GET', url: `/t/${slug}/api/v1/me/sessions`, headers: bearer(access) });
  if (res.statusCode !== 200) throw new Error(`sessions@${slug}: ${res.statusCode} ${res.body}`);
  return (res.json() as { sessions: { id: string; current: boolean; created_at: string }[] }).sessions;
}

/** Asserts-by-value helper: a token's /me status and error code, for compact expectations. */
export async function meOutcome(t: TestApp, slug: string, access: string): Promise<{ status: number; code: string | undefined }> {
  const res = await getMe(t, slug, access);
  return { status: res.statusCode, code: errorCode(res) };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
