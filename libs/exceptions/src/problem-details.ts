import { STATUS_CODES } from 'node:http';
import { FieldError } from './app.exception';
import { ErrorCode, defaultCodeFor } from './error-codes';
import { defaultDetailFor } from './error-message';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem details body with the platform's extensions (`code`, `requestId`, `errors`). */
export interface ProblemDetails {
  type: 'about:blank';
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance: string;
  requestId?: string;
  errors?: FieldError[];
}

export interface ProblemInput {
  status: number;
  /** The path the problem occurred at, without its query string. */
  instance: string;
  code?: ErrorCode;
  detail?: string;
  requestId?: string;
  errors?: FieldError[];
}

/**
 * The one builder of problem bodies, for every layer that answers an error: the exception
 * filter, Node's parser errors, the worker's probe server. Code and detail default to what the
 * status implies, so no layer invents its own wording.
 */
export function problemDetails(input: ProblemInput): ProblemDetails {
  return {
    type: 'about:blank',
    title: STATUS_CODES[input.status] ?? 'Error',
    status: input.status,
    code: input.code ?? defaultCodeFor(input.status),
    detail: input.detail ?? defaultDetailFor(input.status),
    instance: input.instance.split('?')[0],
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    ...(input.errors ? { errors: input.errors } : {}),
  };
}
