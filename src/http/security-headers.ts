import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * Headers on every response. API responses are never cached (they carry tokens and personal data); the docs
 * page gets a CSP that lets its own scripts run, everything else a deny-all CSP.
 */
export function registerSecurityHeaders(app: FastifyInstance, opts: { hsts: boolean }) {
  app.addHook('onSend', async (request, reply, payload) => {
    setSecurityHeaders(request, reply, opts);
    return payload;
  });
}

/** The headers themselves; also called directly where Fastify answers without running onSend hooks (router errors). */
export function setSecurityHeaders(request: FastifyRequest, reply: FastifyReply, opts: { hsts: boolean }) {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('x-frame-options', 'DENY');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
  const isDocs = request.url.startsWith('/docs');
  reply.header(
    'content-security-policy',
    isDocs
      ? "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'"
      : "default-src 'none'; frame-ancestors 'none'",
  );
  if (!isDocs && !request.url.endsWith('/jwks.json') && !request.url.startsWith('/openapi.json')) {
    reply.header('cache-control', 'no-store');
    reply.header('pragma', 'no-cache');
  }
  if (opts.hsts || request.protocol === 'https') {
    reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  }
}
