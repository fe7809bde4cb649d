import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gatehouse } from '../../context.ts';
import { requireTenant } from '../../http/request-context.ts';
import { sha256 } from '../../shared/crypto.ts';
import { collectParams } from '../form-body.ts';
import { ConsentRequired, InteractionRequired, InvalidRedirect, InvalidRequest, LoginRequired, OAuthError, UnauthorizedClient, UnsupportedResponseType } from '../oauth-error.ts';
import { toOAuthError } from '../oauth-error-handler.ts';
import { AAL2_ACR, issueCode, nextStep } from './authorization.ts';
import { browserBinding, readBrowserSession } from './browser-session.ts';
import { checkClientAndRedirect } from './check-client.ts';
import { checkPkce } from './check-pkce.ts';
import { checkPrompt } from './check-prompt.ts';
import { checkScope } from './check-scope.ts';
import { createInteraction, type AuthorizationRequest } from './interaction.ts';
import { redirectError } from './redirect.ts';

/**
 * The authorization endpoint (RFC 6749 §4.1.1, OIDC Core §3.1.2), as a table of checks. The client and redirect
 * URI come first and fail on a page; every later error goes back to the redirect URI with state and iss.
 */
export async function authorizeRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  async function authorize(request: FastifyRequest, reply: FastifyReply, raw: unknown) {
    const tenant = await requireTenant(gh, request);
    const { params, repeated } = collectParams(raw);
    // A repeated client_id or redirect_uri cannot be trusted to send an error to: it gets the page.
    if (repeated.includes('client_id') || repeated.includes('redirect_uri')) throw InvalidRedirect('invalid_request', 'client_id and redirect_uri must be given once.');
    const client = await checkClientAndRedirect(gh, tenant, params);
    const state = repeated.includes('state') ? null : (params.state ?? null);
    try {
      if (repeated.length) throw InvalidRequest(`The ${repeated[0]} parameter is given more than once.`);
      if (params.request !== undefined || params.request_uri !== undefined) throw new OAuthError('invalid_request', 'Request objects are not supported.');
      if (params.response_type !== 'code') throw UnsupportedResponseType('Only response_type=code is supported.');
      if (params.response_mode !== undefined && params.response_mode !== 'query') throw InvalidRequest('Only response_mode=query is supported.');
      if (!client.grant_types.includes('authorization_code')) throw UnauthorizedClient('This application may not use the authorization code flow.');
      const codeChallenge = checkPkce(params);
      const scopes = checkScope(client, params.scope);
      const { prompt, maxAge } = checkPrompt(params);
      if (params.nonce !== undefined && params.nonce.length > 500) throw InvalidRequest('nonce is too long.');
      if (state !== null && state.length > 2000) throw InvalidRequest('state is too long.');
      const req: AuthorizationRequest = {
        clientId: client.client_id,
        redirectUri: params.redirect_uri!,
        scopes,
        state,
        nonce: params.nonce ?? null,
        codeChallenge,
        prompt,
        maxAge,
        loginHint: params.login_hint?.slice(0, 254) ?? null,
        requireAal2: (params.acr_values ?? '').split(' ').includes(AAL2_ACR),
        uiLocales: params.ui_locales?.slice(0, 200) ?? null,
      };
      const session = await readBrowserSession(gh, tenant, request);
      const forceLogin = prompt.includes('login');
      const step = await nextStep(gh, tenant, client, req, session, { forceLogin });
      if (step === 'issue') return await issueCode(gh, tenant, reply, req, session!);
      if (prompt.includes('none')) {
        if (step === 'login') throw LoginRequired('The user is not signed in.');
        if (step === 'step_up') throw InteractionRequired('A second factor is needed for the requested acr.');
        throw ConsentRequired('The user has not consented.');
      }
      const binding = browserBinding(request, reply, tenant);
      const interaction = await createInteraction(gh.kv, { tenantId: tenant.id, request: req, bindingHash: sha256(binding), forceLogin });
      return reply.code(303).header('cache-control', 'no-store').redirect(`${tenant.issuer}/oauth/interaction/${interaction.id}`, 303);
    } catch (err) {
      const e = toOAuthError(err);
      if (!e.allowRedirect || e.status >= 500) throw err;
      return redirectError(reply, tenant, params.redirect_uri!, state, e);
    }
  }

  const schema = { tags: ['oauth'], summary: 'Authorization endpoint (response_type=code with PKCE S256)' };
  app.get('/oauth/authorize', { schema, config: { oauthErrors: 'html' } }, (request, reply) => authorize(request, reply, request.query));
  app.post(
    '/oauth/authorize',
    { schema: { ...schema, consumes: ['application/x-www-form-urlencoded'] }, config: { oauthErrors: 'html' } },
    (request, reply) => authorize(request, reply, request.body),
  );
}
