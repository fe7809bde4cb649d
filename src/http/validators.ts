import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

/**
 * Two Ajv instances: query strings and path parameters arrive as text and are coerced to their declared types;
 * JSON bodies are typed already and are validated strictly (`"password": true` is an error, not "true").
 * Unknown fields are refused everywhere rather than silently removed.
 */
function ajv(coerceTypes: Options['coerceTypes']): Ajv {
  const instance = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: true, strict: false });
  (addFormats as unknown as (a: Ajv) => void)(instance);
  return instance;
}

const strict = ajv(false);
const coercing = ajv('array');

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? strict : coercing).compile(schema) as ReturnType<FastifySchemaCompiler<object>>;
