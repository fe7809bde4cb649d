import type { FastifyInstance } from 'fastify';
import { recordAudit } from '../audit/audit.ts';
import type { Gatehouse } from '../context.ts';
import { withTenantTx } from '../db/tenant-tx.ts';
import { auditContext, authenticate, noContent } from '../http/request-context.ts';
import { bearerSecurity, errorResponses } from '../http/schemas.ts';
import { currentUser } from '../identity/me.routes.ts';
import { hashBackupCode, newBackupCodes } from './backup-codes.ts';
import { notifyUserOfMfaChange } from './mfa-notify.ts';
import { loadMfaState } from './mfa-state.ts';
import { listActiveFactors, remainingBackupCodes, replaceBackupCodes } from './mfa.queries.ts';
import { backupCodesSchema, factorSchema, totpCodeField, totpEnrollmentSchema } from './mfa.schemas.ts';
import { requireRecentAal2, requireRecentAal2IfEnrolled } from './step-up.ts';
import { confirmTotpEnrollment, startTotpEnrollment } from './totp-enrollment.ts';
import { removeOwnTotp } from './factor-removal.ts';

/** Self-service MFA: enroll and remove an authenticator app, see and regenerate backup codes. */
export async function meMfaRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  const secured = { security: bearerSecurity, tags: ['mfa'] };

  app.get(
    '/me/mfa',
    {
      schema: {
        ...secured,
        summary: 'Your second factors and how many backup codes are left',
        response: {
          200: {
            type: 'object',
            properties: {
              mfa_enabled: { type: 'boolean' },
              factors: { type: 'array', items: factorSchema },
              passkeys: { type: 'integer', description: 'Registered passkeys and security keys (listed at GET /me/mfa/webauthn)' },
              backup_codes_remaining: { type: 'integer' },
            },
          },
          ...errorResponses(401, 403),
        },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:read');
      return withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        const factors = await listActiveFactors(tx, claims.sub);
        const state = await loadMfaState(tx, claims.sub);
        const passkeys = (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM webauthn_credentials WHERE user_id = $1', [claims.sub])).rows[0]!.n;
        return { mfa_enabled: state.factors.length > 0, factors, passkeys, backup_codes_remaining: await remainingBackupCodes(tx, claims.sub) };
      });
    },
  );

  app.post(
    '/me/mfa/totp',
    {
      schema: {
        ...secured,
        summary: 'Start setting up an authenticator app (TOTP): the secret and its QR code, shown once; confirm within 10 minutes',
        response: { 200: totpEnrollmentSchema, ...errorResponses(401, 403, 409) },
      },
    },
    async (request) => {
      const user = await currentUser(gh, request);
      // Adding a factor next to an existing one is a change to MFA settings.
      await requireRecentAal2IfEnrolled(gh, request);
      return startTotpEnrollment(gh, request.tenant!, user, auditContext(request));
    },
  );

  app.post<{ Body: { code: string } }>(
    '/me/mfa/totp/verify',
    {
      schema: {
        ...secured,
        summary: 'Confirm the authenticator app with a code; the first factor also returns ten backup codes (once)',
        body: { type: 'object', required: ['code'], additionalProperties: false, properties: { code: totpCodeField } },
        response: {
          200: { type: 'object', properties: { factor: factorSchema, backup_codes: backupCodesSchema } },
          ...errorResponses(401, 403, 404, 409, 429),
        },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:read');
      return confirmTotpEnrollment(gh, request.tenant!, claims.sub, request.body.code, auditContext(request));
    },
  );

  app.delete(
    '/me/mfa/totp',
    {
      schema: {
        ...secured,
        summary: 'Remove the authenticator app (needs a recent second factor); with it the last factor, backup codes go too',
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 404) },
      },
    },
    async (request, reply) => {
      const claims = await authenticate(gh, request, 'profile:read');
      await removeOwnTotp(gh, request.tenant!, claims.sub, auditContext(request), () => requireRecentAal2(gh, request));
      return noContent(reply);
    },
  );

  app.post(
    '/me/mfa/backup-codes',
    {
      schema: {
        ...secured,
        summary: 'Replace your backup codes with ten new ones (needs a recent second factor); the old ones stop working',
        response: { 200: { type: 'object', properties: { backup_codes: backupCodesSchema } }, ...errorResponses(401, 403) },
      },
    },
    async (request) => {
      const claims = await authenticate(gh, request, 'profile:read');
      await requireRecentAal2(gh, request);
      const codes = newBackupCodes();
      await withTenantTx(gh.db, request.tenant!.id, async (tx) => {
        await replaceBackupCodes(tx, claims.sub, codes.map((c) => hashBackupCode(claims.sub, c)));
        await recordAudit(tx, auditContext(request), { action: 'mfa.backup_codes_regenerated', subjectId: claims.sub, risk: 'medium', details: { count: codes.length } });
      });
      await notifyUserOfMfaChange(gh, request.tenant!, claims.sub, 'backup_codes_regenerated');
      return { backup_codes: codes };
    },
  );
}
