import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const BASE = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
} as const;

// Built once: this runs on every response, including the hottest authenticated reads.
const API = { ...BASE, 'content-security-policy': "default-src 'none'; frame-ancestors 'none'", 'cache-control': 'no-store', pragma: 'no-cache' };
const PUBLIC_DOCUMENT = { ...BASE, 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" };
const DOCS_PAGE = {
  ...BASE,
  'cross-origin-opener-policy': 'same-origin',
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
};
const HSTS = 'max-age=31536000; includeSubDomains';

/**
 * Headers on every response, with the request id. API responses are never cached (they carry tokens and personal
 * data); JWKS and the OpenAPI document may be; the docs page gets a CSP that lets its own scripts run.
 */
export function registerSecurityHeaders(app: FastifyInstance, opts: { hsts: boolean }) {
  app.addHook('onSend', (request, reply, payload, done) => {
    setSecurityHeaders(request, reply, opts);
    done(null, payload);
  });
}

/** The headers themselves; also called directly where Fastify answers without running onSend hooks (router errors). */
export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply, opts: { hsts: boolean }) {
  const url = request.url;
  reply.headers(url.startsWith('/docs') ? DOCS_PAGE : url.endsWith('/jwks.json') || url.startsWith('/openapi.json') ? PUBLIC_DOCUMENT : API);
  reply.header('x-request-id', request.id);
  if (opts.hsts || request.protocol === 'https') reply.header('strict-transport-security', HSTS);
}
