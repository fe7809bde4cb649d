import type { FastifyInstance } from 'fastify';
import type { Gatehouse } from '../context.ts';
import { authorizeRoutes } from './authorize/authorize.routes.ts';
import { interactionRoutes } from './authorize/interaction.routes.ts';
import { discoveryRoutes } from './discovery.ts';
import { endSessionRoutes } from './end-session.ts';
import { registerFormParser } from './form-body.ts';
import { introspectRoutes } from './introspect.ts';
import { handleOAuthError } from './oauth-error-handler.ts';
import { brandOf, formTargetOf, pageCsp, scriptOf } from './pages/layout.ts';
import { revokeRoutes } from './revoke.ts';
import { tokenRoutes } from './token/token.routes.ts';
import { userinfoRoutes } from './userinfo.ts';
import { hostedPageRoutes } from '../hosted/hosted.routes.ts';

/**
 * The tenant's OAuth 2.1 / OpenID Connect provider, mounted beside the tenant API (outside /api/v1). An encapsulated
 * plugin: its form parser, error format and page headers apply to these routes only.
 */
export async function oauthRoutes(app: FastifyInstance, { gh }: { gh: Gatehouse }) {
  // Form bodies only (RFC 6749 §3.2): the inherited JSON parser is removed in this context.
  app.removeContentTypeParser('application/json');
  registerFormParser(app);
  app.setErrorHandler(handleOAuthError);
  // After the global security headers: hosted pages get their own CSP; discovery may be cached.
  app.addHook('onSend', (request, reply, payload, done) => {
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) reply.header('content-security-policy', pageCsp(formTargetOf(request), brandOf(request.tenant), scriptOf(request)));
    if (request.url.endsWith('/.well-known/openid-configuration') && reply.statusCode === 200) {
      reply.header('cache-control', 'public, max-age=300').removeHeader('pragma');
    }
    done(null, payload);
  });
  await app.register(discoveryRoutes, { gh });
  await app.register(tokenRoutes, { gh });
  await app.register(introspectRoutes, { gh });
  await app.register(revokeRoutes, { gh });
  await app.register(userinfoRoutes, { gh });
  await app.register(authorizeRoutes, { gh });
  await app.register(interactionRoutes, { gh });
  await app.register(endSessionRoutes, { gh });
  await app.register(hostedPageRoutes, { gh });
}
