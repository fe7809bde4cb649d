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
