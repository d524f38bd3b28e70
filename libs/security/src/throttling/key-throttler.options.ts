import type { KeyLimits } from '@app/config';
import { ExecutionContext } from '@nestjs/common';
import { ThrottlerModuleOptions, minutes } from '@nestjs/throttler';
import type { Request } from 'express';
import type { KeyThrottlerOptions } from './key-throttler.guard';
import type { KeyThrottlerStorage } from './key-throttler.storage';

/** Both per-key policies count over one minute (RateLimit-Policy's `w=60`). */
export const KEY_POLICY_WINDOW_MS = minutes(1);

function limitsOf(context: ExecutionContext): KeyLimits {
  const { auth } = context.switchToHttp().getRequest<Request>();
  if (!auth) throw new Error('the per-key layer ran on a request without an API key');
  return auth.limits;
}

/**
 * The `generations` policy as its one route declares it: `@Throttle({ generations:
 * GENERATIONS_POLICY })` — the calling key's GENERATIONS_PER_MINUTE (or its own value).
 */
export const GENERATIONS_POLICY = {
  limit: (context: ExecutionContext) => limitsOf(context).generationsPerMinute,
  ttl: KEY_POLICY_WINDOW_MS,
};

/** Whether the handler declares the named policy with `@Throttle`. */
function declares(context: ExecutionContext, name: string): boolean {
  return Reflect.getMetadata(`THROTTLER:LIMIT${name}`, context.getHandler()) !== undefined;
}

/**
 * The per-key layer's throttlers, for `ThrottlerModule.forRootAsync`:
 *
 * - `key`: every request of a key, on every route the guard covers, one budget per key;
 * - `generations`: only on handlers that declare it with `@Throttle` (skipped elsewhere,
 *   where @nestjs/throttler would otherwise run it too), and not for a request
 *   `generationsExemptIf` says creates nothing (an idempotent replay).
 *
 * Limits come from the calling key (its own values, else the configured defaults), so a
 * change made with `apikey:update` applies once the key's cache entry expires. The stock
 * `X-RateLimit-*` headers are off: the guard writes the IETF fields.
 */
export function keyThrottlerOptions(
  storage: KeyThrottlerStorage,
  options: { generationsExemptIf?: KeyThrottlerOptions['exemptIf'] } = {},
): ThrottlerModuleOptions {
  const throttlers: KeyThrottlerOptions[] = [
    {
      name: 'key',
      limit: (context) => limitsOf(context).perMinute,
      ttl: KEY_POLICY_WINDOW_MS,
    },
    {
      name: 'generations',
      ...GENERATIONS_POLICY,
      skipIf: (context) => !declares(context, 'generations'),
      exemptIf: options.generationsExemptIf,
    },
  ];
  return { storage, setHeaders: false, throttlers };
}
