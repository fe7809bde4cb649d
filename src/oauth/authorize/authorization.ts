import type { FastifyReply } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { withTenantTx } from '../../db/tenant-tx.ts';
import type { SessionRow } from '../../session/session.queries.ts';
import type { ResolvedTenant } from '../../tenancy/tenant-directory.ts';
import type { ClientRow } from '../clients/client.model.ts';
import { acrOf } from '../tokens/id-token.ts';
import { insertCode } from './code.queries.ts';
import { grantedScopes } from './consent.queries.ts';
import type { AuthorizationRequest } from './interaction.ts';
import { redirectToClient } from './redirect.ts';
import { loadMfaState } from '../../mfa/mfa-state.ts';

export type NextStep = 'login' | 'step_up' | 'consent' | 'issue';

/** The acr a client may ask for in acr_values (advertised in discovery). */
export const AAL2_ACR = 'urn:gatehouse:aal2';

async function hasSecondFactor(gh: Gatehouse, tenant: ResolvedTenant, userId: string): Promise<boolean> {
  return (await withTenantTx(gh.db, tenant.id, (tx) => loadMfaState(tx, userId))).factors.length > 0;
}

/** Too long since the user authenticated for the request's max_age? */
export function maxAgeExceeded(session: Pick<SessionRow, 'created_at'>, maxAge: number | null): boolean {
  return maxAge !== null && Date.now() - new Date(session.created_at).getTime() > maxAge * 1000;
}

/**
 * What the request still needs: a sign-in (no session, prompt=login not yet satisfied, max_age exceeded), a second
 * factor (acr_values asked for aal2 of an aal1 session), consent
 * (not first-party, and prompt=consent or scopes beyond those already agreed to), or nothing: issue the code.
 */
export async function nextStep(
  gh: Gatehouse,
  tenant: ResolvedTenant,
  client: ClientRow,
  req: AuthorizationRequest,
  session: SessionRow | undefined,
  o: { forceLogin: boolean; signedInHere?: boolean; consented?: boolean },
): Promise<NextStep> {
  if (!session) return 'login';
  // A sign-in during this very request satisfies prompt=login and max_age.
  if (!o.signedInHere && (o.forceLogin || maxAgeExceeded(session, req.maxAge))) return 'login';
  // acr_values asked for aal2: a session that has not passed a second factor steps up, if the user has one (else
  // the code says acr aal1 and the client decides, OIDC Core 3.1.2.1: acr_values is a request, not a demand).
  if (req.requireAal2 && session.aal < 2 && (await hasSecondFactor(gh, tenant, session.user_id))) return 'step_up';
  if (client.first_party || o.consented) return 'issue';
  if (req.prompt.includes('consent')) return 'consent';
  const granted = await withTenantTx(gh.db, tenant.id, (tx) => grantedScopes(tx, session.user_id, client.client_id));
  return req.scopes.every((s) => granted.includes(s)) ? 'issue' : 'consent';
}

/** Issues the code for the signed-in session and redirects to the client with code, state and iss. */
export async function issueCode(gh: Gatehouse, tenant: ResolvedTenant, reply: FastifyReply, req: AuthorizationRequest, session: SessionRow) {
  const code = await withTenantTx(gh.db, tenant.id, (tx) =>
    insertCode(tx, {
      clientId: req.clientId,
      userId: session.user_id,
      sessionId: session.id,
      redirectUri: req.redirectUri,
      codeChallenge: req.codeChallenge,
      scopes: req.scopes,
      nonce: req.nonce,
      authTime: new Date(session.created_at),
      amr: session.amr,
      acr: acrOf(session.aal),
    }),
  );
  return redirectToClient(reply, tenant, req.redirectUri, { code, state: req.state });
}
