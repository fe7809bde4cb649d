import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Paths pino censors in every log line. Request bodies are never logged; these catch secrets that reach a log
 * through headers, error objects or explicit fields.
 */
export const redactPaths = [
  'password',
  '*.password',
  '*.current_password',
  '*.new_password',
  'token',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.secret',
  'secret',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
];

/** Query parameters that carry tokens or personal data (OAuth/OIDC requests may send them in the URL). */
const SECRET_QUERY = /([?&](?:id_token_hint|login_hint|code|code_verifier|client_secret|client_assertion|access_token|refresh_token|token)=)[^&#]*/gi;

/** Request URLs as logged: secret query values censored. */
export function redactUrl(url: string): string {
  return url.includes('?') ? url.replace(SECRET_QUERY, '$1[redacted]') : url;
}

/** Fastify's request fields, with the URL's secret query values censored. */
function req(r: { method?: string; url?: string; host?: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) {
  return { method: r.method, url: redactUrl(r.url ?? ''), host: r.host ?? r.hostname, remoteAddress: r.ip, remotePort: r.socket?.remotePort };
}

/** The process logger: JSON lines with the secrets above censored. `destination` defaults to stdout (tests capture it). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { service: 'gatehouse' }, serializers: { req } };
  return destination ? pino(options, destination) : pino(options);
}
