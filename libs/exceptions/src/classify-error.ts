import { HttpException } from '@nestjs/common';
import { AppException, FieldError } from './app.exception';
import { ErrorCode, defaultCodeFor } from './error-codes';
import { defaultDetailFor, errorMessage } from './error-message';

/** What the client is told about an error, decided once, before logging and responding. */
export interface ClassifiedError {
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: FieldError[];
  headers: Record<string, string>;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

const UNAVAILABLE_MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Connection is closed/i,
  /enableOfflineQueue options is false/i,
  /Reached the max retries per request limit/i,
  /Command timed out/i,
  /Client has encountered a connection error/i,
  /Driver not Connected/i, // TypeORM once its pool has been closed
  /Cannot use a pool after calling end on the pool/i,
];

function codeOf(error: unknown): string | undefined {
  const candidate = error as { code?: unknown; driverError?: { code?: unknown } };
  const code = candidate?.driverError?.code ?? candidate?.code;
  return typeof code === 'string' ? code : undefined;
}

/** PostgreSQL or Redis could not be reached: the client may retry, so 503 rather than 500. */
export function isDependencyUnavailable(error: unknown): boolean {
  const code = codeOf(error);
  if (code && (CONNECTION_CODES.has(code) || code.startsWith('08'))) return true;
  const message = error instanceof Error ? error.message : '';
  return UNAVAILABLE_MESSAGES.some((pattern) => pattern.test(message));
}

function fromStatus(status: number, code?: ErrorCode): ClassifiedError {
  return {
    status,
    code: code ?? defaultCodeFor(status),
    detail: defaultDetailFor(status),
    headers: {},
  };
}

/**
 * Decides status, code and detail for anything thrown. Only AppException's own detail reaches
 * the client; every other message (framework, driver, bug) is replaced by a generic one.
 */
export function classifyError(error: unknown): ClassifiedError {
  if (error instanceof AppException) {
    return {
      status: error.getStatus(),
      code: error.code,
      detail: error.detail,
      errors: error.errors,
      headers: error.headers,
    };
  }
  if (error instanceof HttpException) {
    return fromStatus(error.getStatus());
  }
  if (codeOf(error) === '23505') {
    return {
      ...fromStatus(409),
      detail: errorMessage('saving resource', 'a resource with the same identity already exists'),
    };
  }
  if (isDependencyUnavailable(error)) return fromStatus(503);
  return fromStatus(500);
}
