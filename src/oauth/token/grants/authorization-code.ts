import { recordAudit } from '../../../audit/audit.ts';
import { denyRevokedSessions } from '../../../auth/auth.service.ts';
import { withTenantTx } from '../../../db/tenant-tx.ts';
import { findUserById } from '../../../identity/user.queries.ts';
import { findSession, revokeSessions } from '../../../session/session.queries.ts';
import { verifyPkce } from '../../authorize/check-pkce.ts';
import { consumeCode, lockCode, recordIssuedSession } from '../../authorize/code.queries.ts';
import { InvalidGrant, InvalidRequest } from '../../oauth-error.ts';
import { openGrantSession, settingsForClient } from '../../tokens/grant-session.ts';
import { userTokenResponse } from '../../tokens/token-response.ts';
import type { Grant } from '../grant.ts';

/**
 * RFC 6749 §4.1.3 + RFC 7636: the code is single use, lives 60 s, and is bound to the client, the redirect URI and
 * the PKCE challenge. The first presentation consumes it whatever follows (a wrong verifier does not leave it for
 * another try); a second presentation revokes the grant the first one opened (RFC 6749 §4.1.2).
 */
export const authorizationCode: Grant = {
  grantType: 'authorization_code',
  async handler({ gh, tenant, client, params, audit, ip, userAgent }) {
    const { code, redirect_uri: redirectUri, code_verifier: verifier } = params;
    if (!code) throw InvalidRequest('code is required.');
    if (!redirectUri) throw InvalidRequest('redirect_uri is required.');
    if (!verifier) throw InvalidRequest('code_verifier is required (PKCE).');
    const settings = settingsForClient(tenant, client);
    const outcome = await withTenantTx(gh.db, tenant.id, async (tx) => {
      const row = await lockCode(tx, code);
      if (!row || row.client_id !== client.client_id) return { kind: 'invalid' as const, why: 'The authorization code is invalid.' };
      if (row.consumed_at) {
        const revoked = row.issued_session_id ? await revokeSessions(tx, [row.issued_session_id], 'code_reuse') : [];
        await recordAudit(tx, audit, {
          action: 'oauth.code.reuse_detected',
          actorType: 'anonymous',
          actorId: null,
          subjectId: row.user_id,
          risk: 'high',
          details: { client_id: client.client_id, session_id: row.issued_session_id },
        });
        return { kind: 'reused' as const, revoked };
      }
      await consumeCode(tx, code);
      if (row.expired) return { kind: 'invalid' as const, why: 'The authorization code has expired.' };
      if (row.redirect_uri !== redirectUri) return { kind: 'invalid' as const, why: 'redirect_uri does not match the authorization request.' };
      if (!verifyPkce(verifier, row.code_challenge)) return { kind: 'invalid' as const, why: 'code_verifier does not match the code challenge.' };
      const user = await findUserById(tx, row.user_id);
      const browser = await findSession(tx, row.session_id);
      if (!user || user.status === 'disabled' || !browser || browser.revoked_at) return { kind: 'invalid' as const, why: 'The sign-in behind this code has ended.' };
      const g = await openGrantSession(
        tx,
        { userId: user.id, client, scopes: row.scopes, parentSessionId: row.session_id, authTime: row.auth_time, amr: row.amr, aal: browser.aal, ip, userAgent },
        settings,
      );
      await recordIssuedSession(tx, code, g.session.id);
      return { kind: 'issued' as const, row, user, ...g };
    });
    if (outcome.kind === 'reused') {
      await denyRevokedSessions(gh, tenant, outcome.revoked);
      throw InvalidGrant('The authorization code was already used; the tokens it issued are revoked.');
    }
    if (outcome.kind === 'invalid') throw InvalidGrant(outcome.why);
    if (outcome.evicted.length) await denyRevokedSessions(gh, tenant, outcome.evicted);
    return userTokenResponse(gh, tenant, client, outcome.user, {
      sid: outcome.session.id,
      browserSid: outcome.row.session_id,
      scopes: outcome.row.scopes,
      authTime: outcome.row.auth_time,
      amr: outcome.row.amr,
      aal: outcome.session.aal,
      nonce: outcome.row.nonce,
      refreshToken: outcome.refreshToken,
    });
  },
};
