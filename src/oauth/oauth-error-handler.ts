import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.ts';
import { negotiateLocale } from '../i18n/locale.ts';
import { OAuthError } from './oauth-error.ts';
import { renderErrorPage } from './pages/error-page.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** OAuth routes answer errors as RFC 6749 JSON, or (hosted pages, /authorize before its redirect is trusted) as a page. */
    oauthErrors?: 'json' | 'html';
  }
}

/** Any error as an OAuthError: first-party AppErrors and Fastify's own (validation, content type) map onto it. */
export function toOAuthError(err: unknown): OAuthError {
  if (err instanceof OAuthError) return err;
  if (err instanceof AppError) {
    if (!err.expose) return new OAuthError('server_error', 'The server could not complete the request.', { status: 500, cause: err });
    const error = err.status === 429 || err.status === 503 ? 'temporarily_unavailable' : err.status === 401 ? 'invalid_client' : 'invalid_request';
    return new OAuthError(error, err.message, { status: err.status, headers: err.headers ?? {} });
  }
  const f = err as FastifyError;
  if (f.validation) return new OAuthError('invalid_request', `The request is invalid: ${f.message}`);
  const status = f.statusCode ?? 500;
  if (status >= 400 && status < 500) return new OAuthError('invalid_request', status === 415 ? 'Send the parameters as application/x-www-form-urlencoded.' : 'The request is invalid.', { status: status === 415 ? 400 : status });
  return new OAuthError('server_error', 'The server could not complete the request.', { status: 500, cause: err });
}

export function handleOAuthError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const e = toOAuthError(err);
  if (e.status >= 500) request.log.error({ err }, 'oauth request failed');
  reply.headers(e.headers).header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (request.routeOptions.config.oauthErrors === 'html') {
    return reply.code(e.status).type('text/html; charset=utf-8').send(renderErrorPage(negotiateLocale(request.headers['accept-language']), request.tenant, e));
  }
  return reply.code(e.status).type('application/json; charset=utf-8').send(e.toJSON());
}
