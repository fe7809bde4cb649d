import type { FastifyInstance, FastifyRequest } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import { denyRevokedSessions } from '../auth/auth.service.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent } from '../http/request-context.ts';
import { bearerSecurity, emailField, errorResponses, passwordField, profileFields, publicUserSchema, sessionSchema, uuidField } from '../http/schemas.ts';
import { toPublicUser, type UserStatus } from '../identity/user.model.ts';
import { deleteUser, findUserById, listUsers, setUserRole, setUserStatus, updateProfile } from '../identity/user.queries.ts';
import { insertUserChecked, preparePassword } from '../identity/user.service.ts';
import { clearLoginThrottle } from '../protection/login-protection.ts';
import { raiseAlert } from '../security/alerts.ts';
import { ROLES, roleRank, type Role } from '../rbac/roles.ts';
import { listUserSessions, revokeSessions, revokeUserSessions } from '../session/session.queries.ts';
import { requireAdminStepUp } from '../mfa/step-up.ts';
import { decodeTimeIdCursor, encodeCursor } from '../shared/cursor.ts';

const idParams = { type: 'object', properties: { id: uuidField } } as const;
/** The cursor's time: UTC to the microsecond, as listUsers writes it. */

export async function adminUserRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['admin'] };

  app.get<{ Querystring: { search?: string; status?: UserStatus; role?: Role; cursor?: string; limit?: number } }>(
    '/admin/users',
    {
      schema: {
        ...secured,
        summary: 'List and search users (cursor pagination)',
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            search: { type: 'string', minLength: 1, maxLength: 254 },
            status: { type: 'string', enum: ['active', 'disabled', 'locked'] },
            role: { type: 'string', enum: [...ROLES] },
            cursor: { type: 'string', maxLength: 200 },
            limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
          },
        },
        response: {
          200: { type: 'object', properties: { users: { type: 'array', items: publicUserSchema }, next_cursor: { type: ['string', 'null'] } } },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'users:read');
      const q = request.query;
      const limit = q.limit ?? 50;
      let after: { createdAt: string; id: string } | undefined;
      if (q.cursor) {
        const { at: createdAt, id } = decodeTimeIdCursor(q.cursor);
        after = { createdAt, id };
      }
      const rows = await withTenantTx(gh.db, request.tenant!.id, (tx) =>
        listUsers(tx, { search: q.search, status: q.status, role: q.role, after, limit: limit + 1 }),
      );
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      return {
        users: page.map(toPublicUser),
        next_cursor: rows.length > limit && last ? encodeCursor([last.cursor_at, last.id]) : null,
      };
    },
  );

  app.post<{ Body: { email: string; password?: string; name?: string; role?: Role; email_verified?: boolean } }>(
    '/admin/users',
    {
      schema: {
        ...secured,
        summary: 'Create a user',
        body: {
          type: 'object',
          required: ['email'],
          additionalProperties: false,
          properties: {
            email: emailField,
            password: passwordField,
            name: { type: 'string', minLength: 1, maxLength: 200 },
            role: { type: 'string', enum: [...ROLES] },
            email_verified: { type: 'boolean' },
          },
        },
        response: { 201: publicUserSchema, ...errorResponses(401, 403, 409) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'users:manage');
      await requireAdminStepUp(gh, request);
      const tenant = request.tenant!;
      const b = request.body;
      assertMayGrant(claims.role, b.role ?? 'user');
      const passwordHash = await preparePassword(gh, tenant, b.password, b);
      const user = await withTenantTx(gh.db, tenant.id, (tx) =>
        insertUserChecked(
          tx,
          tenant,
          { email: b.email, name: b.name, role: b.role, emailVerified: b.email_verified, createdBy: claims.sub, passwordHash },
          { ctx: auditContext(request), action: 'user.created' },
        ),
      );
      return reply.code(201).send(toPublicUser(user));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/users/:id',
    { schema: { ...secured, summary: 'One user', params: idParams, response: { 200: publicUserSchema, ...errorResponses(401, 403, 404) } } },
    async (request) => {
      await authenticate(gh, request, 'users:read');
      const user = await withTenantTx(gh.db, request.tenant!.id, (tx) => findUserById(tx, request.params.id));
      if (!user) throw new AppError('USER_NOT_FOUND');
      return toPublicUser(user);
    },
  );

  app.patch<{ Params: { id: string }; Body: { status?: 'active' | 'disabled'; role?: Role } & Record<string, string | null | undefined> }>(
    '/admin/users/:id',
    {
      schema: {
        ...secured,
        summary: 'Disable or enable a user, change their role or profile',
        params: idParams,
        body: {
          type: 'object',
          additionalProperties: false,
          minProperties: 1,
          properties: { status: { type: 'string', enum: ['active', 'disabled'] }, role: { type: 'string', enum: [...ROLES] }, ...profileFields },
        },
        response: { 200: publicUserSchema, ...errorResponses(401, 403, 404) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'users:manage');
      await requireAdminStepUp(gh, request);
      const tenant = request.tenant!;
      const { status, role, ...profile } = request.body;
      if ((status || role) && request.params.id === claims.sub) throw new AppError('CANNOT_MODIFY_SELF');
      if (role) {
        if (!claims.permissions.includes('roles:manage')) throw new AppError('FORBIDDEN');
        assertMayGrant(claims.role, role);
      }
      const ctx = auditContext(request);
      const { user, revoked } = await withTenantTx(gh.db, tenant.id, async (tx) => {
        let user = await findUserById(tx, request.params.id);
        if (!user) throw new AppError('USER_NOT_FOUND');
        assertMayGrant(claims.role, user.role);
        let revoked: string[] = [];
        if (Object.keys(profile).length) {
          user = (await updateProfile(tx, user.id, profile))!;
          await recordAudit(tx, ctx, { action: 'user.updated', subjectId: user.id, details: { fields: Object.keys(profile) } });
        }
        if (role && role !== user.role) {
          const from = user.role;
          user = (await setUserRole(tx, user.id, role))!;
          revoked = await revokeUserSessions(tx, user.id, 'role_changed');
          const raised = roleRank(role) > roleRank(from);
          await recordAudit(tx, ctx, {
            action: 'user.role_changed',
            subjectId: user.id,
            risk: role === 'admin' ? 'high' : raised ? 'medium' : 'low',
            details: { from, to: role },
          });
          if (role === 'admin') {
            await raiseAlert(tx, { type: 'privilege_escalation', userId: user.id, details: { from, to: role, by: claims.sub } }, { sealer: gh.sealer, tenant });
          }
        }
        if (status && status !== user.status) {
          const from = user.status;
          user = (await setUserStatus(tx, user.id, status))!;
          if (status === 'disabled') revoked = [...revoked, ...(await revokeUserSessions(tx, user.id, 'user_disabled'))];
          const action = status === 'disabled' ? 'user.disabled' : from === 'locked' ? 'user.unlocked' : 'user.enabled';
          await recordAudit(tx, ctx, { action, subjectId: user.id, risk: 'medium' });
        }
        return { user, revoked };
      });
      gh.users.invalidate(tenant.id, user.id);
      await denyRevokedSessions(gh, tenant, revoked);
      if (status === 'active') await clearLoginThrottle(gh, tenant, user);
      return toPublicUser(user);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/users/:id',
    { schema: { ...secured, summary: 'Delete a user and their sessions', params: idParams, response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) } } },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'users:manage');
      await requireAdminStepUp(gh, request);
      const tenant = request.tenant!;
      if (request.params.id === claims.sub) throw new AppError('CANNOT_MODIFY_SELF');
      const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
        const user = await findUserById(tx, request.params.id);
        if (!user) throw new AppError('USER_NOT_FOUND');
        assertMayGrant(claims.role, user.role);
        const ids = await revokeUserSessions(tx, user.id, 'user_deleted');
        await deleteUser(tx, user.id);
        await recordAudit(tx, auditContext(request), { action: 'user.deleted', subjectId: user.id, risk: 'medium', details: { email: user.email } });
        return ids;
      });
      gh.users.invalidate(tenant.id, request.params.id);
      await denyRevokedSessions(gh, tenant, revoked);
      return noContent(reply);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/admin/users/:id/sessions',
    {
      schema: {
        ...secured,
        summary: "A user's live sessions",
        params: idParams,
        response: { 200: { type: 'object', properties: { sessions: { type: 'array', items: sessionSchema } } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'sessions:manage');
      return { sessions: await withTenantTx(gh.db, request.tenant!.id, (tx) => listUserSessions(tx, request.params.id)) };
    },
  );

  const revokeHandler = async (request: FastifyRequest<{ Params: { id: string; sid?: string } }>) => {
    const claims = await authenticate(gh, request, 'sessions:manage');
    await requireAdminStepUp(gh, request);
    const tenant = request.tenant!;
    const { id, sid } = request.params;
    const revoked = await withTenantTx(gh.db, tenant.id, async (tx) => {
      const user = await findUserById(tx, id);
      if (!user) throw new AppError('USER_NOT_FOUND');
      // A manager signs out users, not the admins above them.
      assertMayGrant(claims.role, user.role);
      let ids: string[];
      if (sid) {
        const own = await tx.query('SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2', [sid, id]);
        if (own.rows.length === 0) throw new AppError('SESSION_NOT_FOUND');
        ids = await revokeSessions(tx, [sid], 'admin_revoked');
      } else {
        ids = await revokeUserSessions(tx, id, 'admin_revoked');
      }
      for (const s of ids) await recordAudit(tx, auditContext(request), { action: 'session.revoked', subjectId: id, risk: 'medium', details: { session_id: s } });
      return ids;
    });
    await denyRevokedSessions(gh, tenant, revoked);
  };

  app.delete<{ Params: { id: string; sid: string } }>(
    '/admin/users/:id/sessions/:sid',
    {
      schema: {
        ...secured,
        summary: "Revoke one of a user's sessions",
        params: { type: 'object', properties: { id: uuidField, sid: uuidField } },
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      await revokeHandler(request);
      return noContent(reply);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/users/:id/sessions',
    { schema: { ...secured, summary: "Revoke all of a user's sessions", params: idParams, response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) } } },
    async (request, reply) => {
      await revokeHandler(request);
      return noContent(reply);
    },
  );
}

/** Nobody grants, or acts on someone holding, a role above their own. */
function assertMayGrant(actor: Role, target: Role) {
  if (roleRank(target) > roleRank(actor)) throw new AppError('FORBIDDEN', { message: 'You cannot act on a role above your own.' });
}
