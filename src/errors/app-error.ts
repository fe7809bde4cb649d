import { errorCodes, type ErrorCode } from './codes.ts';
import { translate, type MessageKey, type MessageParams } from '../i18n/messages.ts';

export interface FieldIssue {
  field: string;
  message: string;
  code?: string;
}

/** An error with a stable code. `expose` says whether its message may reach the client. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly details?: FieldIssue[];
  readonly headers?: Record<string, string>;
  /** Set when the message comes from the catalog, so it can be rendered in the client's language. */
  readonly messageKey?: MessageKey;
  readonly params?: MessageParams;

  constructor(
    code: ErrorCode,
    opts: {
      message?: string;
      messageKey?: MessageKey;
      params?: MessageParams;
      details?: FieldIssue[];
      cause?: unknown;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(opts.message ?? translate('en', opts.messageKey ?? code, opts.params), { cause: opts.cause });
    if (opts.message === undefined) {
      this.messageKey = opts.messageKey ?? code;
      if (opts.params) this.params = opts.params;
    }
    this.name = 'AppError';
    this.code = code;
    this.status = errorCodes[code].status;
    this.expose = this.status < 500;
    if (opts.details) this.details = opts.details;
    if (opts.headers) this.headers = opts.headers;
  }
}

export function assertThat(condition: unknown, code: ErrorCode, message?: string): asserts condition {
  if (!condition) throw new AppError(code, message ? { message } : {});
}
