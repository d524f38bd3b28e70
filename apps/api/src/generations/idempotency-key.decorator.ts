import { AppException, errorMessage } from '@app/exceptions';
import type { GenerationsService } from '@app/generations';
import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import type { Request } from 'express';

const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;

/**
 * The request's `Idempotency-Key`, checked at the edge (1 to 255 printable ASCII characters):
 * a malformed one is a 400 before the domain sees it.
 */
export const IdempotencyKey = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string | undefined => {
    const value = context.switchToHttp().getRequest<Request>().headers['idempotency-key'];
    if (
      value !== undefined &&
      (typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value))
    ) {
      throw new AppException(
        400,
        errorMessage('reading Idempotency-Key', 'it must be 1 to 255 printable ASCII characters'),
      );
    }
    return value;
  },
);

/**
 * Whether the request is a replay of an earlier POST with the same (valid) Idempotency-Key:
 * it creates nothing, so the `generations` throttler does not count it.
 */
export async function isIdempotentReplay(
  context: ExecutionContext,
  generations: GenerationsService,
): Promise<boolean> {
  const req = context.switchToHttp().getRequest<Request>();
  const value = req.headers['idempotency-key'];
  if (!req.auth || typeof value !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(value)) return false;
  return generations.isReplay(req.auth.userId, value);
}
