import { recordAudit } from '../../../audit/audit.ts';
import { denyRevokedSessions } from '../../../auth/auth.service.ts';
import { withTenantTx } from '../../../db/tenant-tx.ts';
import { findUserById } from '../../../identity/user.queries.ts';
import { raiseAlert } from '../../../security/alerts.ts';
import { revokeSessions, rotateRefreshToken } from '../../../session/session.queries.ts';
import { parseScope } from '../../clients/client.model.ts';
import { InvalidGrant, InvalidRequest, InvalidScope } from '../../oauth-error.ts';
import type { Gatehouse } from '../../../context.ts';
import type { UserRow } from '../../../identity/user.model.ts';
import { rotateRefreshTokenQuick } from '../../../session/rotate-refresh.ts';
import type { ResolvedTenant } from '../../../tenancy/tenant-directory.ts';
import type { ClientRow } from '../../clients/client.model.ts';
import { findGrantSession, settingsForClient, type GrantSession } from '../../tokens/grant-session.ts';
import { userTokenResponse } from '../../tokens/token-response.ts';
import type { Grant } from '../grant.ts';

/**
 * RFC 6749 §6 with rotation: the same refresh-token families and rotateRefreshToken as the first-party API. A token
 * of another client (or of the first-party API) is refused before anything rotates; a rotated token presented again
 * revokes the whole grant (RFC 9700 §4.14.2). Narrower scopes may be asked for, never wider ones.
 */
export const refreshToken: Grant = {
  grantType: 'refresh_token',
  async handler({ gh, tenant, client, params, audit }) {
    const presented = params.refresh_token;
    if (!presented) throw InvalidRequest('refresh_token is required.');
    const settings = settingsForClient(tenant, client);
    const quick = await rotateRefreshTokenQuick(gh.db, tenant.id, presented, settings, client.client_id, audit);
    if (quick.kind === 'invalid') throw InvalidGrant('The refresh token is invalid, expired or revoked.');
    if (quick.kind === 'rotated') {
      const g = quick.session;
      return answer(gh, tenant, client, params.scope, quick.user, {
        id: g.id,
        parent_session_id: g.parent_session_id,
        scopes: g.scopes ?? [],
        auth_time: g.auth_time!,
        amr: g.amr,
        aal: g.aal,
      }, quick.refreshToken);
    }
    // Already rotated (grace window or reuse) or the user disabled: the general path, in a transaction.
    const outcome = await withTenantTx(gh.db, tenant.id, async (tx) => {
      const r = await rotateRefreshToken(tx, presented, settings, client.client_id);
      if (r.kind === 'invalid') return r;
      if (r.kind === 'reused') {
        await recordAudit(tx, audit, {
          action: 'token.refresh.reuse_detected',
          actorType: 'anonymous',
          actorId: null,
          subjectId: r.session.user_id,
          risk: 'high',
          details: { session_id: r.session.id, client_id: client.client_id },
        });
        await raiseAlert(tx, { type: 'refresh_token_reuse', userId: r.session.user_id, details: { session_id: r.session.id, client_id: client.client_id, ip: audit.ip ?? null } }, { sealer: gh.sealer, tenant });
        return r;
      }
      const grant = (await findGrantSession(tx, r.session.id))!;
      const user = await findUserById(tx, grant.user_id);
      if (!user || user.status === 'disabled') {
        await revokeSessions(tx, [grant.id], 'user_inactive');
        return { kind: 'invalid' as const, revoked: grant.id };
      }
      await recordAudit(tx, { ...audit, actorType: 'user', actorId: user.id }, { action: 'token.refreshed', subjectId: user.id, details: { session_id: grant.id, client_id: client.client_id } });
      return { kind: 'rotated' as const, grant, user, refreshToken: r.refreshToken };
    });
    if (outcome.kind === 'reused') {
      await denyRevokedSessions(gh, tenant, [outcome.session.id]);
      throw InvalidGrant('The refresh token was already used; the grant has been revoked.');
    }
    if (outcome.kind === 'invalid') {
      if ('revoked' in outcome && outcome.revoked) await denyRevokedSessions(gh, tenant, [outcome.revoked]);
      throw InvalidGrant('The refresh token is invalid, expired or revoked.');
    }
    return answer(gh, tenant, client, params.scope, outcome.user, outcome.grant, outcome.refreshToken);
  },
};

type GrantFields = Pick<GrantSession, 'id' | 'parent_session_id' | 'scopes' | 'auth_time' | 'amr' | 'aal'>;

function answer(gh: Gatehouse, tenant: ResolvedTenant, client: ClientRow, scope: string | undefined, user: UserRow, grant: GrantFields, refreshToken: string) {
  const scopes = scope !== undefined ? parseScope(scope) : grant.scopes;
  const wider = scopes.filter((s) => !grant.scopes.includes(s));
  if (wider.length) throw InvalidScope(`Not granted: ${wider.join(' ')}.`);
  return userTokenResponse(gh, tenant, client, user, {
    sid: grant.id,
    browserSid: grant.parent_session_id,
    scopes,
    authTime: grant.auth_time,
    amr: grant.amr,
    aal: grant.aal,
    refreshToken,
  });
}
