import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, type FieldIssue } from '../errors/app-error.ts';
import { errorCodes, type ErrorCode } from '../errors/codes.ts';
import { negotiateLocale } from '../i18n/locale.ts';
import { translate } from '../i18n/messages.ts';

/** Maps Fastify's own error codes (parsing, limits, routing) onto ours. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_ERROR',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_EMPTY_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_NOT_FOUND: 'NOT_FOUND',
};

function fieldIssues(err: FastifyError): FieldIssue[] {
  return (err.validation ?? []).map((v) => {
    const base = (v.instancePath || '').replace(/^\//, '').replaceAll('/', '.');
    const params = v.params as Record<string, unknown>;
    const field =
      (params.missingProperty as string | undefined) ??
      (params.additionalProperty as string | undefined) ??
      (base || (err.validationContext ?? 'body'));
    const path = base && (params.missingProperty || params.additionalProperty) ? `${base}.${field}` : field;
    const message = params.additionalProperty ? 'is not an accepted field' : (v.message ?? 'is invalid');
    return { field: path, message, code: v.keyword };
  });
}

export function errorBody(code: ErrorCode, message: string, requestId: string, details?: FieldIssue[], retryAfter?: number) {
  return {
    error: {
      code,
      category: errorCodes[code].category,
      message,
      requestId,
      ...(details?.length ? { details } : {}),
      ...(retryAfter !== undefined ? { retry_after: retryAfter } : {}),
    },
  };
}

/** One JSON error shape for everything; internals (stack, cause, SQL) only ever reach the log. */
export function handleError(err: FastifyError | AppError | Error, request: FastifyRequest, reply: FastifyReply) {
  const locale = negotiateLocale(request.headers['accept-language']);
  let code: ErrorCode;
  let message: string;
  let details: FieldIssue[] | undefined;
  let retryAfter: number | undefined;
  if (err instanceof AppError) {
    code = err.code;
    message = !err.expose
      ? translate(locale, 'INTERNAL_ERROR')
      : err.messageKey
        ? translate(locale, err.messageKey, err.params)
        : err.message;
    details = err.details;
    if (typeof err.params?.waitSeconds === 'number') retryAfter = err.params.waitSeconds;
    if (err.headers) reply.headers(err.headers);
    if (!err.expose) request.log.error({ err }, 'request failed');
  } else if ((err as FastifyError).validation) {
    code = 'VALIDATION_ERROR';
    details = fieldIssues(err as FastifyError);
    message = `${translate(locale, 'VALIDATION_ERROR').replace(/\.$/, '')}: ` + details.map((d) => `${d.field} ${d.message}`).join('; ');
  } else {
    const fcode = (err as FastifyError).code;
    const status = (err as FastifyError).statusCode ?? 500;
    const mapped = fcode ? FASTIFY_CODES[fcode] : undefined;
    if (mapped) {
      code = mapped;
    } else if (status === 413) {
      code = 'PAYLOAD_TOO_LARGE';
    } else if (status === 415) {
      code = 'UNSUPPORTED_MEDIA_TYPE';
    } else if (status >= 400 && status < 500) {
      code = 'VALIDATION_ERROR';
    } else {
      code = 'INTERNAL_ERROR';
      request.log.error({ err }, 'unhandled error');
    }
    message = translate(locale, code);
  }
  const status = errorCodes[code].status;
  if (status === 401 && !reply.hasHeader('www-authenticate')) {
    reply.header('www-authenticate', code.startsWith('TOKEN') ? `Bearer error="invalid_token"` : 'Bearer');
  }
  reply.header('content-language', locale);
  reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message, request.id, details, retryAfter));
}
