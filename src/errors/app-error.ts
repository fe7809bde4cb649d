import { errorCodes, type ErrorCode } from './codes.ts';

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

  constructor(
    code: ErrorCode,
    opts: { message?: string; details?: FieldIssue[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(opts.message ?? errorCodes[code].message, { cause: opts.cause });
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
