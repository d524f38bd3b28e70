import { AppException, errorMessage } from '@app/exceptions';
import { keyLimitRefusalsTotal } from '@app/metrics';
import type { KeyLimitPolicy } from '@app/metrics';
import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  Resolvable,
  ThrottlerGuard,
  ThrottlerModuleOptions,
  ThrottlerOptions,
} from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { securityEvent } from '../events/security-event';
import { RouteMetadataCache } from '../route-metadata-cache';
import { ADMIN_ONLY } from '../api-keys/public.decorator';
import { KeyCountedRoutes } from './key-counted-routes';
import { KeyThrottlerStorage } from './key-throttler.storage';
import { PolicyCount, PolicyWindow } from './window-counters';

// @nestjs/throttler's metadata keys (THROTTLER_SKIP + name, THROTTLER_LIMIT + name, …)
const SKIP = 'THROTTLER:SKIP';
const LIMIT = 'THROTTLER:LIMIT';
const TTL = 'THROTTLER:TTL';

/**
 * A named throttler of the per-key layer. `exemptIf` is asked only when the policy would
 * count the request, and may look things up (an idempotent replay is exempt from
 * `generations`: it creates nothing).
 */
export interface KeyThrottlerOptions extends ThrottlerOptions {
  name: KeyLimitPolicy;
  exemptIf?: (context: ExecutionContext) => boolean | Promise<boolean>;
}

/** Appends to a structured-field list header, after what the per-IP layer wrote. */
function appendHeader(res: Response, name: string, members: string): void {
  const before = res.getHeader(name);
  res.setHeader(name, before ? `${String(before)}, ${members}` : members);
}

/** A throttler a route counts toward, with the limit and ttl its decorators give it. */
interface RoutePolicy {
  throttler: KeyThrottlerOptions;
  limit: Resolvable<number>;
  ttl: Resolvable<number>;
}

/**
 * A route's throttlers; whether its `key` policy is the module's own (no `@Throttle`, nothing
 * that skips or exempts per request); whether it is admin-only (what `KeyCountedRoutes` needs).
 */
interface RoutePolicies {
  policies: RoutePolicy[];
  plainKey: boolean;
  adminOnly: boolean;
}

const seconds = (ms: number): number => Math.max(0, Math.ceil(ms / 1000));

/**
 * @nestjs/throttler's guard for the per-key layer. It reads the named throttlers, their
 * `@Throttle` / `@SkipThrottle` metadata and their resolvable limits the way the stock guard
 * does; what it changes:
 *
 * - the tracker is the API key id, never the IP (a request without a key is not this layer's:
 *   the API-key guard before it has refused it, or the route is public);
 * - one key is one budget per policy across every route (no class/handler in the counter key);
 * - every policy of a request is evaluated in one storage call (one Redis round trip, all or
 *   nothing), not one call per throttler — or none of its own, for a read the per-IP layer
 *   already counted toward the key (`KeyCountedRoutes`: the guard marks the routes where it may);
 * - the IETF `RateLimit` / `RateLimit-Policy` lists are extended, after the per-IP member,
 *   instead of `X-RateLimit-*`; a refusal is a problem-details 429 with `Retry-After`, a
 *   `rate_limited` security event naming the policy and key, and a count by policy — never
 *   toward an IP ban.
 */
@Injectable()
export class KeyThrottlerGuard extends ThrottlerGuard {
  /**
   * The throttlers a route does not skip, with its `@Throttle` limit and ttl (or the module's):
   * decorators do not change, only what a resolvable limit resolves to per request.
   */
  private readonly routes = new RouteMetadataCache<RoutePolicies>((targets) => {
    const read = <T>(key: string): T | undefined =>
      this.reflector.getAllAndOverride<T>(key, targets);
    const policies = (this.throttlers as KeyThrottlerOptions[])
      .filter(({ name }) => !read<boolean>(SKIP + name))
      .map((throttler) => ({
        throttler,
        limit: read<Resolvable<number>>(LIMIT + throttler.name) ?? throttler.limit,
        ttl: read<Resolvable<number>>(TTL + throttler.name) ?? throttler.ttl,
      }));
    const key = policies.find((policy) => policy.throttler.name === 'key');
    return {
      policies,
      plainKey:
        key !== undefined &&
        key.limit === key.throttler.limit &&
        key.ttl === key.throttler.ttl &&
        !key.throttler.skipIf &&
        !key.throttler.exemptIf &&
        !this.commonOptions.skipIf,
      adminOnly: read<boolean>(ADMIN_ONLY) ?? false,
    };
  });

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() private readonly keyStorage: KeyThrottlerStorage,
    reflector: Reflector,
    private readonly keyCounts: KeyCountedRoutes,
  ) {
    super(options, keyStorage, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const req = context.switchToHttp().getRequest<Request>();
    const res = context.switchToHttp().getResponse<Response>();
    if (!req.auth || (await this.shouldSkip(context))) return true;

    const route = this.routes.of(context);
    const windows = await this.policiesOf(context, route.policies);
    if (windows.length === 0) return true;
    const keyAlone = KeyCountedRoutes.countsKeyAlone(req.method, windows);
    if (keyAlone && route.plainKey && req.route)
      this.keyCounts.markKeyOnly(req.route, route.adminOnly);
    // the per-IP layer counted the key with the client when it could (KeyCountedRoutes)
    const { counts, refusedBy } =
      keyAlone && req.keyCount?.keyId === req.auth.keyId
        ? req.keyCount.outcome
        : await this.keyStorage.consume(req.auth.keyId, windows);
    appendHeader(
      res,
      'RateLimit-Policy',
      counts.map((c) => `"${c.name}";q=${c.limit};w=${seconds(c.ttlMs)}`).join(', '),
    );
    appendHeader(
      res,
      'RateLimit',
      counts
        .map((c) => `"${c.name}";r=${Math.max(0, c.limit - c.hits)};t=${seconds(c.resetMs)}`)
        .join(', '),
    );
    if (refusedBy) throw this.refusal(req, refusedBy);
    return true;
  }

  /** The policies that count this request, in the order the module lists them. */
  private async policiesOf(
    context: ExecutionContext,
    policies: RoutePolicy[],
  ): Promise<PolicyWindow[]> {
    const windows: PolicyWindow[] = [];
    for (const { throttler, limit, ttl } of policies) {
      if ((throttler.skipIf ?? this.commonOptions.skipIf)?.(context)) continue;
      if (throttler.exemptIf && (await throttler.exemptIf(context))) continue;
      const window = {
        name: throttler.name,
        limit: await resolve(context, limit),
        ttlMs: await resolve(context, ttl),
      };
      // a limit of 0 (KEY_RATE_LIMIT_PER_MINUTE=0, `--rate-limit 0`) switches the policy off
      if (window.limit > 0) windows.push(window);
    }
    return windows;
  }

  private refusal(req: Request, policy: PolicyCount): AppException {
    const retryAfter = Math.max(1, seconds(policy.resetMs));
    const keyId = req.auth?.keyId;
    keyLimitRefusalsTotal.inc({ policy: policy.name as KeyLimitPolicy });
    securityEvent(
      'rate_limited',
      { keyId, policy: policy.name, limit: policy.limit, path: req.path },
      `per-key limit "${policy.name}" exceeded by key ${keyId}`,
    );
    const what = policy.name === 'generations' ? 'generation requests' : 'requests';
    return new AppException(
      429,
      errorMessage(
        'processing request',
        `this API key's limit of ${policy.limit} ${what} per ${seconds(policy.ttlMs)}s ("${policy.name}") is exceeded; retry in ${retryAfter}s`,
      ),
      { code: 'RATE_LIMITED', headers: { 'Retry-After': String(retryAfter) } },
    );
  }
}

async function resolve(context: ExecutionContext, value: Resolvable<number>): Promise<number> {
  const resolved = typeof value === 'function' ? await value(context) : value;
  if (!Number.isFinite(resolved)) throw new Error(`a throttler limit or ttl is not a number`);
  return resolved;
}
