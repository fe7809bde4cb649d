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

/** The process logger: JSON lines with the secrets above censored. `destination` defaults to stdout (tests capture it). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = { level, redact: { paths: redactPaths, censor: '[redacted]' }, base: { service: 'gatehouse' } };
  return destination ? pino(options, destination) : pino(options);
}
