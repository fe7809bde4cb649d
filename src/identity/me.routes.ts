import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import { denyRevokedSessions } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent } from '../http/request-context.ts';
import { bearerSecurity, errorResponses, passwordField, profileFields, publicUserSchema, sessionSchema, uuidField } from '../http/schemas.ts';
import { isReused, recentHashes, rememberHash } from '../passwords/password-history.ts';
import { evaluatePassword, policyError } from '../passwords/password-policy.ts';
import { listUserSessions, revokeSessions, revokeUserSessions } from '../session/session.queries.ts';
import { requireRecentAal2IfEnrolled } from '../mfa/step-up.ts';
import { effectiveSettings } from '../tenancy/tenant.model.ts';
import { toPublicUser, type ProfilePatch, type UserRow } from './user.model.ts';
import { findUserById, readUser, setPasswordHash, updateProfile } from './user.queries.ts';

/** The signed-in user's row: from the user cache when fresh, else the database. A deleted or disabled user's token stops here. */
export async function currentUser(gh: Gatehouse, request: FastifyRequest): Promise<UserRow> {
  const claims = await authenticate(gh, request, 'profile:read');
  const tenantId = request.tenant!.id;
  let user = gh.users.get(tenantId, claims.sub);
  if (!user) {
    user = await readUser(gh.db, tenantId, claims.sub);
    if (user) gh.users.set(user);
  }
  if (!user || user.status === 'disabled') throw new AppError('TOKEN_REVOKED');
  return user;
}

export async function meRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['me'] };

  app.get('/me', { schema: { ...secured, summary: 'The signed-in user', response: { 200: publicUserSchema, ...errorResponses(401, 403) } } }, async (request) =>
    toPublicUser(await currentUser(gh, request)),
  );

  app.patch<{ Body: ProfilePatch }>(
    '/me',
    {
      schema: {
        ...secured,
        summary: 'Update the profile of the signed-in user',
        body: { type: 'object', additionalProperties: false, minProperties: 1, properties: profileFields },
        response: { 200: publicUserSchema, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:write');
      const tenant = request.tenant!;
      const user = await withTenantTx(gh.db, tenant.id, async (tx) => {
        const u = await updateProfile(tx, claims.sub, request.body);
        if (!u) throw new AppError('TOKEN_REVOKED');
        await recordAudit(tx, auditContext(request), { action: 'user.updated', subjectId: u.id, details: { fields: Object.keys(request.body) } });
        return u;
      });
      gh.users.invalidate(tenant.id, user.id);
      return toPublicUser(user);
    },
  );

  app.post<{ Body: { current_password: string; new_password: string } }>(
    '/me/password',
    {
      schema: {
        ...secured,
        summary: 'Change the password (needs the current one); every other session is signed out',
        body: {
          type: 'object',
          required: ['current_password', 'new_password'],
          additionalProperties: false,
          properties: { current_password: passwordField, new_password: passwordField },
        },
        response: { 204: { type: 'null' }, ...errorResponses(401, 403) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'profile:read');
      // With MFA, a password change also needs a recent second factor (step-up).
      await requireRecentAal2IfEnrolled(gh, request);
      const tenant = request.tenant!;
      const settings = effectiveSettings(tenant);
      const { user, previous } = await withTenantTx(gh.db, tenant.id, async (tx) => {
        const user = await findUserById(tx, claims.sub);
        return { user, previous: user ? await recentHashes(tx, user.id, user.password_hash, settings.password_history) : [] };
      });
      if (!user || user.status === 'disabled') throw new AppError('TOKEN_REVOKED');
      const ok = user.password_hash ? (await gh.hasher.verify(user.password_hash, request.body.current_password)).ok : false;
      if (!ok) throw new AppError('CURRENT_PASSWORD_INVALID', { details: [{ field: 'current_password', message: 'is wrong' }] });
      const policy = evaluatePassword(request.body.new_password, settings, { email: user.email, name: user.name, tenantName: tenant.name, tenantSlug: tenant.slug });
      if (policy.ok && (await isReused(gh.hasher, previous, request.body.new_password))) {
        policy.violations.push({ code: 'PASSWORD_REUSED', message: `must differ from your last ${settings.password_history} passwords` });
      }
      if (policy.violations.length) throw policyError(policy.violations, 'new_password');
      const hash = await gh.hasher.hash(request.body.new_password);
      const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
        await rememberHash(tx, user.id, user.password_hash, settings.password_history);
        await setPasswordHash(tx, user.id, hash);
        const ids = await revokeUserSessions(tx, user.id, 'password_changed', claims.sid);
        await recordAudit(tx, auditContext(request), { action: 'password.changed', subjectId: user.id, risk: 'medium', details: { sessions_revoked: ids.length } });
        return ids;
      });
      gh.users.invalidate(tenant.id, user.id);
      await denyRevokedSessions(gh, tenant, revoked);
      return noContent(reply);
    },
  );

  app.get(
    '/me/sessions',
    {
      schema: {
        ...secured,
        summary: 'Live sessions (devices) of the signed-in user',
        response: { 200: { type: 'object', properties: { sessions: { type: 'array', items: sessionSchema } } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:read');
      const sessions = await withTenantTx(gh.db, request.tenant!.id, (tx) => listUserSessions(tx, claims.sub));
      return { sessions: sessions.map((s) => ({ ...s, current: s.id === claims.sid })) };
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/me/sessions/:id',
    {
      schema: {
        ...secured,
        summary: 'Sign out one of your sessions',
        params: { type: 'object', properties: { id: uuidField } },
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'profile:read');
      const tenant = request.tenant!;
      const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
        const own = await tx.query('SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL', [request.params.id, claims.sub]);
        if (own.rows.length === 0) throw new AppError('SESSION_NOT_FOUND');
        const ids = await revokeSessions(tx, [request.params.id], 'user_revoked');
        await recordAudit(tx, auditContext(request), { action: 'session.revoked', subjectId: claims.sub, details: { session_id: request.params.id } });
        return ids;
      });
      await denyRevokedSessions(gh, tenant, revoked);
      return noContent(reply);
    },
  );
}
