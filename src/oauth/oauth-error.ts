/**
 * OAuth 2.0 / OpenID Connect errors (RFC 6749 §5.2, RFC 6750 §3.1, OIDC Core §3.1.2.6), separate from the
 * first-party AppError shape: they travel as `{error, error_description}` JSON, or as redirect parameters on
 * /authorize. Built the node-oidc-provider way, from a factory of named errors.
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'login_required'
  | 'consent_required'
  | 'interaction_required'
  | 'invalid_redirect_uri'
  | 'server_error'
  | 'temporarily_unavailable';

const STATUS: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
};

export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** Whether /authorize may send this error back to the client's (already validated) redirect_uri. */
  readonly allowRedirect: boolean;
  readonly expose: boolean;
  /** Extra response headers (WWW-Authenticate). */
  readonly headers: Record<string, string>;

  constructor(error: OAuthErrorCode, description: string, opts: { status?: number; allowRedirect?: boolean; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(description, { cause: opts.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.status = opts.status ?? STATUS[error] ?? 400;
    this.allowRedirect = opts.allowRedirect ?? true;
    this.expose = this.status < 500;
    this.headers = opts.headers ?? {};
  }

  /** The JSON body: internals of a 5xx never leave the server. */
  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.expose ? this.error : 'server_error', error_description: this.expose ? this.message : 'The server could not complete the request.' };
  }
}

const E =
  (error: OAuthErrorCode, status?: number) =>
  (description: string, opts: { headers?: Record<string, string>; cause?: unknown } = {}) =>
    new OAuthError(error, description, { ...opts, ...(status ? { status } : {}) });

export const InvalidRequest = E('invalid_request');
export const InvalidGrant = E('invalid_grant');
export const UnauthorizedClient = E('unauthorized_client');
export const UnsupportedGrantType = E('unsupported_grant_type');
export const UnsupportedResponseType = E('unsupported_response_type');
export const InvalidScope = E('invalid_scope');
export const AccessDenied = E('access_denied');
export const LoginRequired = E('login_required');
export const ConsentRequired = E('consent_required');
export const InteractionRequired = E('interaction_required');
export const ServerError = E('server_error');

/** 401 with a challenge naming the scheme the client tried (RFC 6749 §5.2). */
export const InvalidClient = (description: string, scheme: 'Basic' | 'none' = 'none') =>
  new OAuthError('invalid_client', description, scheme === 'Basic' ? { headers: { 'www-authenticate': 'Basic realm="oauth"' } } : {});

/** RFC 6750: a bad bearer token at a protected resource (userinfo). */
export const InvalidToken = (description: string) =>
  new OAuthError('invalid_token', description, {
    headers: { 'www-authenticate': `Bearer error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"` },
  });

/** Errors about the client or redirect URI themselves: shown on a page, never redirected (RFC 6749 §4.1.2.1). */
export const InvalidRedirect = (error: 'invalid_request' | 'invalid_client' | 'invalid_redirect_uri', description: string) =>
  new OAuthError(error, description, { allowRedirect: false, status: 400 });
