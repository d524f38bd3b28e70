import { HttpException } from '@nestjs/common';
import { ErrorCode, defaultCodeFor } from './error-codes';

/** One invalid field of a request, as the problem body lists it. */
export interface FieldError {
  field: string;
  messages: string[];
}

export interface AppExceptionOptions {
  /** From the catalogue; defaults to the one the status implies. */
  code?: ErrorCode;
  /** The underlying error: logged with its stack, never sent. */
  cause?: unknown;
  /** Per-field failures (validation). */
  errors?: FieldError[];
  /** Response headers that belong to this error (WWW-Authenticate, Retry-After). */
  headers?: Record<string, string>;
}

/**
 * The application's own error. `detail` is user-facing (English, `Error <action>: <details>`,
 * see `errorMessage`); the global filter answers it as RFC 9457 problem details.
 */
export class AppException extends HttpException {
  readonly code: ErrorCode;
  readonly detail: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string>;

  constructor(statusCode: number, detail: string, options: AppExceptionOptions = {}) {
    super(detail, statusCode, { cause: options.cause });
    this.name = 'AppException';
    this.code = options.code ?? defaultCodeFor(statusCode);
    this.detail = detail;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}
