import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error.ts';
import { constantTimeEqual, randomToken } from '../shared/crypto.ts';
import type { TokenResponse } from './auth.service.ts';

/**
 * Browser delivery: the refresh token lives in an httpOnly, Secure, SameSite=Strict cookie scoped to the auth
 * path, never readable by scripts. Cookie-authenticated calls also need the CSRF token (double submit: a header
 * that must equal a second httpOnly cookie; the page gets its value from the JSON response).
 */
export const REFRESH_COOKIE = 'gh_refresh';
export const CSRF_COOKIE = 'gh_csrf';
export const CSRF_HEADER = 'x-csrf-token';

export function authCookiePath(request: FastifyRequest): string {
  const url = request.routeOptions.url ?? '';
  const i = url.indexOf('/api/v1/auth');
  const prefix = i >= 0 ? url.slice(0, i) : '';
  const slug = (request.params as { tenant?: string }).tenant;
  return `${prefix.replace(':tenant', slug ?? '')}/api/v1/auth`;
}

export function setRefreshCookies(request: FastifyRequest, reply: FastifyReply, body: TokenResponse, maxAge: number) {
  const csrf = randomToken(24);
  const base = { path: authCookiePath(request), httpOnly: true, secure: true, sameSite: 'strict' as const, maxAge };
  reply.setCookie(REFRESH_COOKIE, body.refresh_token, base);
  reply.setCookie(CSRF_COOKIE, csrf, base);
  const { refresh_token: _omit, ...rest } = body;
  return { ...rest, csrf_token: csrf };
}

export function clearRefreshCookies(request: FastifyRequest, reply: FastifyReply) {
  const base = { path: authCookiePath(request), httpOnly: true, secure: true, sameSite: 'strict' as const };
  reply.clearCookie(REFRESH_COOKIE, base);
  reply.clearCookie(CSRF_COOKIE, base);
}

/** The refresh token from the cookie, after the CSRF check. */
export function refreshTokenFromCookie(request: FastifyRequest): string | undefined {
  const token = request.cookies[REFRESH_COOKIE];
  if (!token) return undefined;
  const cookie = request.cookies[CSRF_COOKIE];
  const header = request.headers[CSRF_HEADER];
  if (!cookie || typeof header !== 'string' || !constantTimeEqual(cookie, header)) throw new AppError('CSRF_FAILED');
  return token;
}
