/** Seed 001's four categories: every code belongs to exactly one, so clients can pick a fallback message. */
export type ErrorCategory = 'authentication' | 'session' | 'rate_limiting' | 'system';

/**
 * The one registry of error codes. The code is the stable API; messages may change and are localized
 * (src/i18n). English texts follow seed 001's user-facing wording.
 */
export const errorCodes = {
  VALIDATION_ERROR: { status: 400, category: 'system', message: 'The request is invalid.' },
  INVALID_JSON: { status: 400, category: 'system', message: 'The request body is not valid JSON.' },
  INVALID_ENCODING: { status: 400, category: 'system', message: 'The request body is not valid UTF-8.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, category: 'system', message: 'Send the request body as application/json.' },
  PAYLOAD_TOO_LARGE: { status: 413, category: 'system', message: 'The request body is too large.' },
  NOT_FOUND: { status: 404, category: 'system', message: 'Not found.' },
  METHOD_NOT_ALLOWED: { status: 405, category: 'system', message: 'Method not allowed.' },
  INVALID_CREDENTIALS: { status: 401, category: 'authentication', message: 'Email or password is incorrect.' },
  UNAUTHENTICATED: { status: 401, category: 'authentication', message: 'Authentication is required.' },
  TOKEN_INVALID: { status: 401, category: 'session', message: 'The access token is invalid.' },
  TOKEN_EXPIRED: { status: 401, category: 'session', message: 'Session expired. Please log in again.' },
  TOKEN_REVOKED: { status: 401, category: 'session', message: 'The token has been revoked.' },
  REFRESH_TOKEN_INVALID: { status: 401, category: 'session', message: 'Session expired. Please log in again.' },
  REFRESH_TOKEN_REUSED: { status: 401, category: 'session', message: 'The refresh token was already used; the session has been revoked.' },
  SESSION_NOT_FOUND: { status: 404, category: 'session', message: 'Session not found.' },
  CSRF_FAILED: { status: 403, category: 'session', message: 'The CSRF token is missing or wrong.' },
  FORBIDDEN: { status: 403, category: 'authentication', message: 'You do not have permission to do this.' },
  LOGIN_BLOCKED: { status: 403, category: 'authentication', message: 'This sign-in looks unusual and was blocked. Reset your password or contact support.' },
  ACCOUNT_LOCKED: { status: 403, category: 'authentication', message: 'Your account is temporarily locked. Try again later or reset your password.' },
  ACCOUNT_DISABLED: { status: 403, category: 'authentication', message: 'Account is temporarily disabled. Contact support.' },
  TENANT_NOT_FOUND: { status: 404, category: 'system', message: 'Tenant not found.' },
  TENANT_MISMATCH: { status: 403, category: 'session', message: 'The token belongs to another tenant.' },
  TENANT_SUSPENDED: { status: 403, category: 'system', message: 'This tenant is suspended.' },
  TENANT_CANCELED: { status: 403, category: 'system', message: 'This tenant has been canceled.' },
  TENANT_SLUG_TAKEN: { status: 409, category: 'system', message: 'That tenant slug is already in use.' },
  TENANT_SLUG_INVALID: { status: 400, category: 'system', message: 'The tenant slug is invalid or reserved.' },
  REGISTRATION_CLOSED: { status: 403, category: 'authentication', message: 'Registration is not open for this tenant.' },
  USER_LIMIT_EXCEEDED: { status: 403, category: 'authentication', message: 'This tenant has reached its user limit.' },
  EMAIL_TAKEN: { status: 409, category: 'authentication', message: 'An account with that email already exists.' },
  USER_NOT_FOUND: { status: 404, category: 'authentication', message: 'User not found.' },
  PASSWORD_POLICY: { status: 400, category: 'authentication', message: 'The password does not meet the policy.' },
  CURRENT_PASSWORD_INVALID: { status: 400, category: 'authentication', message: 'The current password is wrong.' },
  CANNOT_MODIFY_SELF: { status: 400, category: 'authentication', message: 'You cannot do this to your own account.' },
  RATE_LIMITED: { status: 429, category: 'rate_limiting', message: 'Too many requests. Please try again later.' },
  SERVER_BUSY: { status: 503, category: 'system', message: 'Service temporarily unavailable. Please try again later.' },
  INTERNAL_ERROR: { status: 500, category: 'system', message: 'Something went wrong on our side.' },
  EMAIL_TOKEN_INVALID: { status: 400, category: 'authentication', message: 'This link or code is invalid.' },
  EMAIL_TOKEN_EXPIRED: { status: 410, category: 'authentication', message: 'This link or code has expired. Request a new one.' },
  EMAIL_TOKEN_USED: { status: 410, category: 'authentication', message: 'This link or code has already been used or was replaced by a newer one.' },
  EMAIL_TOKEN_WRONG_PURPOSE: { status: 400, category: 'authentication', message: 'This link or code is not meant for this action.' },
  EMAIL_CODE_ATTEMPTS_EXCEEDED: { status: 429, category: 'rate_limiting', message: 'Too many wrong codes. Request a new one.' },
  EMAIL_NOT_VERIFIED: { status: 403, category: 'authentication', message: 'Verify your email address before signing in.' },
  PASSWORDLESS_DISABLED: { status: 403, category: 'authentication', message: 'Sign-in by email is not enabled for this tenant.' },
  INVITATION_NOT_FOUND: { status: 404, category: 'authentication', message: 'Invitation not found.' },
  INVITATION_REVOKED: { status: 410, category: 'authentication', message: 'This invitation has been withdrawn.' },
  INVITATION_NOT_PENDING: { status: 409, category: 'authentication', message: 'This invitation has already been accepted or withdrawn.' },
} as const satisfies Record<string, { status: number; category: ErrorCategory; message: string }>;

export type ErrorCode = keyof typeof errorCodes;
