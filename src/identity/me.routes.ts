import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent } from '../http/request-context.ts';
import { bearerSecurity, errorResponses, passwordField, profileFields, publicUserSchema, sessionSchema, uuidField } from '../http/schemas.ts';
import { listUserSessions } from '../session/session.queries.ts';
import { requireRecentAal2IfEnrolled } from '../mfa/step-up.ts';
import { changeOwnPassword, revokeOwnSession, updateOwnProfile } from './account.service.ts';
import { toPublicUser, type ProfilePatch } from './user.model.ts';
import { readUser } from './user.queries.ts';
import type { CachedUser } from './user-cache.ts';

/** The signed-in user's row: from the user cache when fresh, else the database. A deleted or disabled user's token stops here. */
export async function currentUser(gh: Gatehouse, request: FastifyRequest): Promise<CachedUser> {
  const claims = await authenticate(gh, request, 'profile:read');
  const tenantId = request.tenant!.id;
  let user: CachedUser | undefined = gh.users.get(tenantId, claims.sub);
  if (!user) {
    const row = await readUser(gh.db, tenantId, claims.sub);
    user = row && gh.users.set(row);
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
      const user = await updateOwnProfile(gh, request.tenant!, { userId: claims.sub, sessionId: claims.sid }, request.body, auditContext(request));
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
      const who = { userId: claims.sub, sessionId: claims.sid };
      await changeOwnPassword(gh, request.tenant!, who, { currentPassword: request.body.current_password, newPassword: request.body.new_password }, auditContext(request));
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
      await revokeOwnSession(gh, request.tenant!, { userId: claims.sub, sessionId: claims.sid }, request.params.id, auditContext(request));
      return noContent(reply);
    },
  );
}
