import { AppException, errorMessage } from '@app/exceptions';
import { json } from 'express';
import type { NextFunction, Request, Response } from 'express';
import { AsyncResource } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';

/** Deeper JSON is refused before validation walks it (a stack-exhaustion guard). */
export const MAX_JSON_DEPTH = 32;
/** An object with more keys is refused before validation (whose work and answer grow with it). */
export const MAX_JSON_KEYS = 1000;

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJsonType(req: IncomingMessage): boolean {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/**
 * The first thing in a parsed body that no route should see: too deep, too many keys in one
 * object, or a U+0000 in a string (PostgreSQL cannot store it). One walk, without recursion.
 */
function bodyProblem(value: unknown): AppException | undefined {
  const stack: Array<[unknown, number, string]> = [[value, 1, '']];
  while (stack.length > 0) {
    const [current, depth, path] = stack.pop() as [unknown, number, string];
    if (typeof current === 'string') {
      if (current.includes('\u0000')) return nulCharacter(path || 'body');
      continue;
    }
    if (current === null || typeof current !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) {
      return new AppException(
        400,
        errorMessage('parsing JSON body', `it is nested deeper than ${MAX_JSON_DEPTH} levels`),
        { code: 'INVALID_JSON' },
      );
    }
    const keys = Object.keys(current);
    if (keys.length > MAX_JSON_KEYS) {
      return new AppException(
        400,
        errorMessage('parsing JSON body', `an object has more than ${MAX_JSON_KEYS} keys`),
        { code: 'INVALID_JSON' },
      );
    }
    for (const key of keys) {
      const child = (current as Record<string, unknown>)[key];
      const childPath = path ? `${path}.${key}` : key;
      if (key.includes('\u0000')) return nulCharacter(path || 'body');
      stack.push([child, depth + 1, childPath]);
    }
  }
  return undefined;
}

function nulCharacter(field: string): AppException {
  return new AppException(400, errorMessage('validating request', '1 field is invalid'), {
    code: 'VALIDATION_FAILED',
    errors: [{ field, messages: [`${field} must not contain the character U+0000`] }],
  });
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
 * only — a body of another type is a 415 — within BODY_LIMIT, at most MAX_JSON_DEPTH deep, at
 * most MAX_JSON_KEYS keys per object, no U+0000, and every failure an AppException for the
 * problem-details filter. `skip` leaves requests alone (nothing of their body is read).
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
      resume(bodyProblem(req.body));
    });
  };
}
