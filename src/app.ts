import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { adminUserRoutes } from './admin/admin-users.routes.ts';
import { auditRoutes } from './audit/audit.routes.ts';
import { authRoutes } from './auth/auth.routes.ts';
import type { Gatehouse } from './context.ts';
import { AppError } from './errors/app-error.ts';
import { errorBody, handleError } from './http/error-handler.ts';
import { validatorCompiler } from './http/validators.ts';
import { registerSecurityHeaders, setSecurityHeaders } from './http/security-headers.ts';
import { meRoutes } from './identity/me.routes.ts';
import { jwksRoutes } from './keys/jwks.routes.ts';
import { healthRoutes } from './ops/health.routes.ts';
import { passwordCheckRoutes } from './passwords/password-check.routes.ts';
import { apiRateLimit } from './protection/api-rate-limit.ts';
import { platformRoutes } from './platform/platform.routes.ts';
import { securityMetricsRoutes } from './security/security-metrics.routes.ts';
import { securityRoutes } from './security/security.routes.ts';
import { webauthnRoutes } from './webauthn/webauthn.routes.ts';
import { adminMfaRoutes } from './mfa/admin-mfa.routes.ts';
import { authMfaRoutes } from './mfa/auth-mfa.routes.ts';
import { meMfaRoutes } from './mfa/me-mfa.routes.ts';
import { adminClientRoutes } from './oauth/clients/admin-clients.routes.ts';
import { platformClientRoutes } from './oauth/clients/platform-clients.routes.ts';
import { oauthRoutes } from './oauth/oauth.routes.ts';
import { emailFlowRoutes } from './email-flows/email-flows.routes.ts';
import { mailOutboxRoutes } from './mail/mail-outbox.routes.ts';
import { invitationRoutes } from './email-flows/invitations.routes.ts';
import { tenantSmtpRoutes } from './mail/tenant-smtp.routes.ts';
import { applicationRoutes } from './oauth/grants/applications.routes.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
// JSON escapes and URL encoding can carry text PostgreSQL cannot store: NUL and unpaired UTF-16 surrogates.
const UNSTORABLE_TEXT = /\u0000|\p{Cs}/u;

/** True when a string anywhere in a parsed JSON value (keys included) could not be stored. Iterative: bodies nest deep. */
function hasUnstorableText(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (UNSTORABLE_TEXT.test(v)) return true;
    } else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (UNSTORABLE_TEXT.test(k)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

/** Every tenant-scoped route, mounted under /t/{slug} and again at the root (subdomain, header or token claim). */
async function tenantApi(app: FastifyInstance, opts: { gh: Gatehouse; root: boolean }) {
  if (opts.root) {
    app.addHook('onRoute', (route) => {
      route.schema = { ...(route.schema ?? {}), hide: true };
    });
  }
  await app.register(jwksRoutes, { gh: opts.gh });
  await app.register(oauthRoutes, { gh: opts.gh });
  await app.register(
    async (api) => {
      api.addHook('onRequest', apiRateLimit(opts.gh));
      await api.register(authRoutes, { gh: opts.gh });
      await api.register(passwordCheckRoutes, { gh: opts.gh });
      await api.register(meRoutes, { gh: opts.gh });
      await api.register(adminUserRoutes, { gh: opts.gh });
      await api.register(auditRoutes, { gh: opts.gh });
      await api.register(securityRoutes, { gh: opts.gh });
      await api.register(securityMetricsRoutes, { gh: opts.gh });
      await api.register(webauthnRoutes, { gh: opts.gh });
      await api.register(authMfaRoutes, { gh: opts.gh });
      await api.register(meMfaRoutes, { gh: opts.gh });
      await api.register(adminMfaRoutes, { gh: opts.gh });
      await api.register(adminClientRoutes, { gh: opts.gh });
      await api.register(emailFlowRoutes, { gh: opts.gh });
      await api.register(mailOutboxRoutes, { gh: opts.gh });
      await api.register(invitationRoutes, { gh: opts.gh });
      await api.register(applicationRoutes, { gh: opts.gh });
    },
    { prefix: '/api/v1' },
  );
}

type ParamsSchema = { properties?: Record<string, unknown>; required?: string[] };

/**
 * Routes under /t/:tenant that declare their own path parameters (`{id}`, `{client_id}`) would leave `tenant` out
 * of the OpenAPI document, which then fails SDK generators: the document describes a parameter only from the
 * route's params schema when there is one. So the tenant goes into that schema too.
 */
function declareTenantParam(route: { url: string; schema?: { params?: unknown } }) {
  const params = route.schema?.params as ParamsSchema | undefined;
  if (!params?.properties || !route.url.includes('/:tenant/') || 'tenant' in params.properties) return;
  route.schema = {
    ...route.schema,
    params: {
      ...params,
      properties: { tenant: { type: 'string', description: "The tenant's slug" }, ...params.properties },
      required: ['tenant', ...(params.required ?? []).filter((n) => n !== 'tenant')],
    },
  };
}

/** Builds the HTTP application; never listens (server.ts does, tests use inject). */
export async function buildApp(gh: Gatehouse): Promise<FastifyInstance> {
  const { config } = gh;
  const app = Fastify({
    loggerInstance: gh.logger as FastifyBaseLogger,
    // A hop count is accepted at run time (proxy-addr) though the type omits it.
    trustProxy: config.trustProxy as boolean | string[],
    bodyLimit: config.bodyLimit,
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    // What the router refuses before any route runs (bad percent-encoding, over-long parameters): same error shape.
    frameworkErrors: (_err, request, rawReply) => {
      const reply = rawReply as unknown as FastifyReply;
      setSecurityHeaders(request, reply, { hsts: config.publicUrl.startsWith('https://') });
      reply
        .code(400)
        .header('x-request-id', request.id)
        .type('application/json; charset=utf-8')
        .send(errorBody('VALIDATION_ERROR', 'The request URL is invalid.', request.id));
    },
  });

  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onRoute', declareTenantParam);
  app.decorateRequest('tenant', null);
  app.decorateRequest('auth', null);

  // JSON only, and only valid UTF-8: invalid bytes are refused rather than silently replaced.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const buf = body as Buffer;
    if (!isUtf8(buf)) return done(new AppError('INVALID_ENCODING'), undefined);
    parseJson(req, buf.toString('utf8'), (err, value) => {
      if (err) return done(err, undefined);
      if (hasUnstorableText(value)) {
        return done(new AppError('INVALID_ENCODING', { message: 'The request body holds a NUL character or an unpaired surrogate.' }), undefined);
      }
      done(null, value);
    });
  });

  // After validation: Ajv coerces query strings such as "1e400" to non-finite numbers that pass min/max checks.
  app.addHook('preHandler', (request, _reply, done) => {
    const query = request.query as Record<string, unknown> | null;
    if (query === null || typeof query !== 'object') return done();
    for (const field in query) {
      const value = query[field];
      const bad =
        typeof value === 'number' ? !Number.isFinite(value) : typeof value === 'string' ? UNSTORABLE_TEXT.test(value) : false;
      if (bad) {
        return done(
          new AppError('VALIDATION_ERROR', {
            message: `The request is invalid: ${field} is not acceptable`,
            details: [{ field, message: typeof value === 'number' ? 'must be a finite number' : 'must not hold NUL characters or unpaired surrogates' }],
          }),
        );
      }
    }
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    gh.metrics.observeHttp(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  registerSecurityHeaders(app, { hsts: config.publicUrl.startsWith('https://') });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', 'No such route.', request.id));
  });

  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version: '0.1.0',
        description: 'Multi-tenant identity server. Tenant routes live under /t/{tenant}.',
      },
      servers: [{ url: config.publicUrl }],
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          platformAuth: { type: 'http', scheme: 'bearer', description: 'A platform credential (ghp_...)' },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(healthRoutes, { gh });
  await app.register(platformRoutes, { gh, prefix: '/api/v1/platform' });
  await app.register(platformClientRoutes, { gh, prefix: '/api/v1/platform' });
  await app.register(tenantSmtpRoutes, { gh, prefix: '/api/v1/platform' });
  await app.register(tenantApi, { gh, root: false, prefix: '/t/:tenant' });
  await app.register(tenantApi, { gh, root: true });
  return app;
}
