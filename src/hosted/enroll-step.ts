import type { FastifyRequest } from 'fastify';
import { auditContext } from '../http/request-context.ts';
import type { Gatehouse } from '../context.ts';
import { AppError } from '../errors/app-error.ts';
import { challengePasskeyEnrollment, challengeTotpEnrollment } from '../mfa/enroll-sign-in.ts';
import type { Html } from '../oauth/pages/layout.ts';
import type { PageCtx } from './hosted-page.ts';
import { enrollPage } from './mfa-enroll-pages.ts';
import { passkeyEnrollChoice } from './passkey-forms.ts';

/**
 * The hosted enrollment step as drawn for the user of an enrollment challenge: the authenticator-app setup (the live
 * one again when the page is drawn twice, so a scanned QR code stays valid) and "use a passkey or security key" (a
 * fresh ceremony each time, bound to the challenge, answered at `{action}/passkey`). MFA_TOKEN_INVALID / _EXPIRED
 * propagate: the caller goes back to the password step. When no passkey can be added (the credential limit) the page
 * offers the app alone.
 */
export async function enrollStepPage(
  gh: Gatehouse,
  request: FastifyRequest,
  ctx: PageCtx,
  o: { mfaToken: string; action: string; csrf: string; error?: Html | string | undefined },
): Promise<string> {
  const audit = auditContext(request);
  const enrollment = await challengeTotpEnrollment(gh, ctx.tenant, o.mfaToken, audit, 'resume');
  const options = await challengePasskeyEnrollment(gh, ctx.tenant, o.mfaToken, audit, 'page').catch((err: unknown) => {
    if (err instanceof AppError && err.code === 'WEBAUTHN_CREDENTIAL_LIMIT') return undefined;
    throw err;
  });
  const passkey = options ? passkeyEnrollChoice(request, ctx, { action: `${o.action}/passkey`, csrf: o.csrf, options }) : undefined;
  return enrollPage(ctx, { action: o.action, csrf: o.csrf, enrollment, passkey, ...(o.error ? { error: o.error } : {}) });
}
