import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { InvalidRequest } from './oauth-error.ts';

const UNSTORABLE_TEXT = /\u0000|\p{Cs}/u;

/**
 * `application/x-www-form-urlencoded` bodies (RFC 6749 §4.1.3, HTML forms), for the OAuth routes only: registered
 * inside their encapsulated plugin, so the JSON strictness of the rest of the API is untouched. A parameter sent
 * twice is an error (RFC 6749 §3.1), as are invalid UTF-8 and NUL characters.
 */
export function registerFormParser(app: FastifyInstance) {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, (_req, body, done) => {
    const buf = body as Buffer;
    if (!isUtf8(buf)) return done(InvalidRequest('The request body is not valid UTF-8.'), undefined);
    const out: Record<string, string> = Object.create(null);
    for (const [key, value] of new URLSearchParams(buf.toString('utf8'))) {
      if (UNSTORABLE_TEXT.test(key) || UNSTORABLE_TEXT.test(value)) return done(InvalidRequest('The request holds a NUL character or an unpaired surrogate.'), undefined);
      if (key in out) return done(InvalidRequest(`The ${key.slice(0, 40)} parameter is given more than once.`), undefined);
      out[key] = value;
    }
    done(null, { ...out });
  });
}

/** Parameters of a query string (or parsed form): single values, and the names that were repeated. */
export function collectParams(query: unknown): { params: Record<string, string>; repeated: string[] } {
  const params: Record<string, string> = {};
  const repeated: string[] = [];
  for (const [key, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
    if (Array.isArray(value)) repeated.push(key.slice(0, 40));
    else if (typeof value === 'string') params[key] = value;
  }
  return { params, repeated };
}

/** Parameters of a GET query string, with the same rule against repeats. */
export function singleParams(query: unknown): Record<string, string> {
  const { params, repeated } = collectParams(query);
  if (repeated.length) throw InvalidRequest(`The ${repeated[0]} parameter is given more than once.`);
  return params;
}
