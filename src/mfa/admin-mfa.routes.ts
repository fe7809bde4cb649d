import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { AppError } from '../errors/app-error.ts';
import { auditContext, authenticate, noContent } from '../http/request-context.ts';
import { bearerSecurity, errorResponses, uuidField } from '../http/schemas.ts';
import { findUserById } from '../identity/user.queries.ts';
import { roleRank } from '../rbac/roles.ts';
import { raiseAlert } from '../security/alerts.ts';
import { notifyUserOfMfaChange } from './mfa-notify.ts';
import { deleteBackupCodes, listActiveFactors, remainingBackupCodes, removeFactors } from './mfa.queries.ts';
import { factorSchema } from './mfa.schemas.ts';
import { requireAdminStepUp } from './step-up.ts';

/** Recovery by an admin: a user who lost every factor and every backup code. */
export async function adminMfaRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  app.get<{ Params: { id: string } }>(
    '/admin/users/:id/mfa',
    {
      schema: {
        security: bearerSecurity,
        tags: ['admin', 'mfa'],
        summary: "A user's second factors and how many backup codes are left (never a secret)",
        params: { type: 'object', properties: { id: uuidField } },
        response: {
          200: {
            type: 'object',
            properties: { mfa_enabled: { type: 'boolean' }, factors: { type: 'array', items: factorSchema }, backup_codes_remaining: { type: 'integer' } },
          },
          ...errorResponses(401, 403, 404),
        },
      },
    },
    async (request) => {
      await authenticate(gh, request, 'users:read');
      return withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        if (!(await findUserById(tx, request.params.id))) throw new AppError('USER_NOT_FOUND');
        const factors = await listActiveFactors(tx, request.params.id);
        return { mfa_enabled: factors.length > 0, factors, backup_codes_remaining: await remainingBackupCodes(tx, request.params.id) };
      });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/admin/users/:id/mfa',
    {
      schema: {
        security: bearerSecurity,
        tags: ['admin', 'mfa'],
        summary:
          "Reset a user's MFA: every factor and backup code is removed (the user signs in with the password and enrolls again; " +
          'a tenant MFA policy gives a new grace period). Audited, raises an mfa_reset alert, notifies the user',
        params: { type: 'object', properties: { id: uuidField } },
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'users:manage');
      const tenant = request.tenant!;
      // Resetting your own MFA would skip the step-up that removing a factor needs.
      if (request.params.id === claims.sub) throw new AppError('CANNOT_MODIFY_SELF');
      await requireAdminStepUp(gh, request);
      const removed = await withTenantTx(gh.db, tenant.id, async (tx) => {
        const user = await findUserById(tx, request.params.id);
        if (!user) throw new AppError('USER_NOT_FOUND');
        if (roleRank(user.role) > roleRank(claims.role)) throw new AppError('FORBIDDEN', { message: 'You cannot act on a role above your own.' });
        const r = await removeFactors(tx, user.id);
        // A lost phone often goes with its synced passkeys: the reset clears every factor.
        const passkeys = await tx.query('DELETE FROM webauthn_credentials WHERE user_id = $1', [user.id]);
        r.active += passkeys.rowCount ?? 0;
        await deleteBackupCodes(tx, user.id);
        await tx.query(`UPDATE users SET mfa_grace_started_at = NULL WHERE id = $1`, [user.id]);
        await recordAudit(tx, auditContext(request), { action: 'mfa.reset', subjectId: user.id, risk: 'high', details: { factors_removed: r.active } });
        await raiseAlert(tx, { type: 'mfa_reset', userId: user.id, details: { by: claims.sub, factors_removed: r.active, ip: request.ip } }, { sealer: gh.sealer, tenant });
        return r.active;
      });
      gh.users.invalidate(tenant.id, request.params.id);
      await notifyUserOfMfaChange(gh, tenant, request.params.id, 'mfa_reset_by_admin', { by: claims.sub, factors_removed: removed });
      return noContent(reply);
    },
  );
}
