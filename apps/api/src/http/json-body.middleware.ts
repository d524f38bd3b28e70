import { AppException, errorMessage } from '@app/exceptions';
import { json } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';

/** Deeper JSON is refused before validation walks it (a stack-exhaustion guard). */
export const MAX_JSON_DEPTH = 32;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJsonType(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function depthExceeds(value: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    if (depth > limit) return true;
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return false;
}

/** body-parser's error types, answered with the catalogue's codes. */
function toAppException(error: Error & { type?: string }, limit: string): AppException {
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppException(
        400,
        errorMessage('parsing JSON body', 'the body is not valid JSON'),
        {
          code: 'INVALID_JSON',
        },
      );
    case 'entity.too.large':
      return new AppException(
        413,
        errorMessage('reading request body', `it is larger than the limit of ${limit}`),
      );
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new AppException(
        415,
        errorMessage('reading request body', 'use UTF-8 JSON without content encoding'),
      );
    default:
      return new AppException(
        400,
        errorMessage('reading request body', 'the body could not be read'),
        {
          cause: error,
        },
      );
  }
}

/**
 * The api's body parser (Nest's own is off so that it runs after the request context): JSON
 * only — a body of another type is a 415 — within BODY_LIMIT, at most MAX_JSON_DEPTH deep, and
 * every failure an AppException for the problem-details filter. `skip` leaves paths alone.
 */
export function jsonBody(limit: string, skip: (req: Request) => boolean = () => false) {
  const parse = json({ limit, type: isJsonType });
  return (req: Request, res: Response, next: NextFunction): void => {
    if (skip(req) || !hasBody(req)) return next();
    // Keep the request's AsyncLocalStorage context across the body's stream events.
    const resume = AsyncResource.bind(next);
    if (BODY_METHODS.has(req.method) && hasBody(req) && !isJsonType(req)) {
      return resume(
        new AppException(
          415,
          errorMessage('reading request body', 'the content type must be application/json'),
        ),
      );
    }
    parse(req, res, (error?: unknown) => {
      if (error) return resume(toAppException(error as Error, limit));
      if (depthExceeds(req.body, MAX_JSON_DEPTH)) {
        return resume(
          new AppException(
            400,
            errorMessage('parsing JSON body', `it is nested deeper than ${MAX_JSON_DEPTH} levels`),
            { code: 'INVALID_JSON' },
          ),
        );
      }
      resume();
    });
  };
}
