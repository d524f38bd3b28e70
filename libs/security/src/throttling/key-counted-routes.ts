import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { Cluster } from 'ioredis';
import { presentedKey } from '../api-keys/api-key-format';
import { ApiKeyService } from '../api-keys/api-key.service';
import { policyCounter } from './key-throttler.storage';
import type { ThrottleOutcome } from './window-counters';

/** The `key` policy's count of one request, to be taken with its per-IP count. */
export interface KeyCount {
  keyId: string;
  /** The policy's Redis counter. */
  counter: string;
  /** The key's requests per minute (`KEY_POLICY_WINDOW_MS`). */
  limit: number;
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The `key` policy's count, when the per-IP layer took it (see `KeyCountedRoutes`). */
    keyCount?: { keyId: string; outcome: ThrottleOutcome };
  }
}

/** What the per-key guard learned of a route that counts the `key` policy alone. */
interface RoutePlan {
  adminOnly: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Where a request's `key` count can be taken by the per-IP layer's script call instead of a
 * round trip of its own: an authenticated read is checked against both limits in one call.
 *
 * The per-key guard stays the one that decides which policies a route counts: each time it
 * counts the `key` policy alone, with the module's limit and window, on a GET or HEAD, it marks
 * that Express route here. The per-IP layer takes the count with its own only for a request it
 * can tell the guard would count the same way — a GET or HEAD without a body or an `Expect` (which
 * the layers between the two could refuse), to a route marked here (found by Express's own rule,
 * before routing), with a key the API-key cache vouches for (and an admin key on an admin-only
 * route) — and only when the request is not refused per IP, so a request either layer refuses
 * uses no budget of the other. Everything else (writes, the first request of a
 * route, a key not cached, an exempt IP, a Redis Cluster, where a client's and a key's counters
 * live on different nodes) the guard counts itself, as before.
 */
@Injectable()
export class KeyCountedRoutes {
  private readonly plans = new WeakMap<object, RoutePlan>();
  private routeOf?: (req: Request) => object | undefined;
  private readonly sameNode: boolean;

  constructor(
    private readonly keys: ApiKeyService,
    @Inject(REDIS_CLIENT) redis: RedisClient,
  ) {
    this.sameNode = !(redis instanceof Cluster);
  }

  /** How to find the route Express will give a request: set by the app once it has routes. */
  findRoutesWith(routeOf: (req: Request) => object | undefined): void {
    this.routeOf = routeOf;
  }

  /** The guard counted the `key` policy alone on this route, for a GET or HEAD. */
  markKeyOnly(route: object, adminOnly: boolean): void {
    if (!this.plans.has(route)) this.plans.set(route, { adminOnly });
  }

  /** The `key` count the guard would take for this request, when the per-IP layer can take it. */
  countFor(req: Request): KeyCount | undefined {
    if (!this.sameNode || !this.routeOf || !SAFE_METHODS.has(req.method)) return undefined;
    // what the layers between the two could still refuse: a body to parse, an Expect to answer
    const { headers } = req;
    if (
      headers['content-length'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      headers.expect !== undefined
    )
      return undefined;
    const key = presentedKey(req);
    if (!key) return undefined;
    const route = this.routeOf(req);
    const plan = route && this.plans.get(route);
    if (!plan) return undefined;
    const identity = this.keys.cachedIdentity(key);
    if (!identity || identity.limits.perMinute <= 0) return undefined;
    if (plan.adminOnly && !identity.admin) return undefined;
    return {
      keyId: identity.keyId,
      counter: policyCounter(identity.keyId, 'key'),
      limit: identity.limits.perMinute,
    };
  }

  /** A route's GET or HEAD counts the `key` policy alone: what `markKeyOnly` needs to hold. */
  static countsKeyAlone(method: string, policies: readonly { name: string }[]): boolean {
    return SAFE_METHODS.has(method) && policies.length === 1 && policies[0].name === 'key';
  }
}
