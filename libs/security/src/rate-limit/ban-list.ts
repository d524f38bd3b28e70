import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { ipBansTotal } from '@app/metrics';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { untraced } from '@app/tracing';
import { TurnBatches } from '@app/lifecycle';
import { Inject, Injectable } from '@nestjs/common';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { securityEvent } from '../events/security-event';
import type { KeyCount } from '../throttling/key-counted-routes';
import { KEY_POLICY_WINDOW_MS } from '../throttling/key-throttler.options';
import { ADD_HITS_LUA, ThrottleOutcome, outcomeOf } from '../throttling/window-counters';
import { AddressList, clientKey } from '../http/client-ip';

export const KEY_PREFIX = 'rl';
const logger = getLogger('BanList');
/** The per-IP limit counts requests over this window (RATE_LIMIT_PER_MINUTE: one minute). */
export const RATE_LIMIT_WINDOW_SECONDS = 60;

/**
 * A client's requests of one turn: the ban check and count in one round trip, and — for those
 * that carry one — the count of their key's `key` policy (`KeyCountedRoutes`). KEYS[1] the
 * client's ban, KEYS[2] its request counter (rate-limiter-flexible's key and fixed window, so its
 * `delete` still resets it), KEYS[3…] the key counters of the batch; ARGV[1] the window in
 * seconds, ARGV[2] how many requests to count (those of the batch that are counted; 0 checks the
 * ban only); with key counters, ARGV[3] the client's limit, ARGV[4] the key policy's window in
 * ms, then per counted request in order the index of its key counter in KEYS (0: none) and the
 * key's limit. Returns {ban ms left, count after them, window ms left}, then per request with a
 * key {-1 refused per IP (its key is not counted) | 1 refused by its key | 0 counted, the key's
 * count after it, its counter's index}, then each key counter's ms left. A banned client is not
 * counted; a key's count is all or nothing with its client's, in the fixed window the per-key
 * guard's script keeps on the same counter (`ADD_HITS_LUA`).
 */
const CHECK_REQUESTS_SCRIPT = `${ADD_HITS_LUA}
local ban = redis.call('pttl', KEYS[1])
if ban > 0 then return {ban, 0, 0} end
local n = tonumber(ARGV[2])
if n == 0 then return {0, 0, 0} end
redis.call('set', KEYS[2], 0, 'EX', ARGV[1], 'NX')
local consumed = redis.call('incrby', KEYS[2], n)
local ttl = redis.call('pttl', KEYS[2])
if ttl == -1 then
  redis.call('expire', KEYS[2], ARGV[1])
  ttl = 1000 * ARGV[1]
end
local out = {0, consumed, ttl}
if #KEYS == 2 then return out end
local limit, window = tonumber(ARGV[3]), tonumber(ARGV[4])
local hits, added = {}, {}
for k = 3, #KEYS do
  hits[k] = tonumber(redis.call('get', KEYS[k]) or '0')
  added[k] = 0
end
for r = 1, n do
  local k = tonumber(ARGV[3 + 2 * r])
  if k > 0 then
    local refused = 0
    if consumed - n + r > limit then
      refused = -1
    elseif hits[k] >= tonumber(ARGV[4 + 2 * r]) then
      refused = 1
    else
      hits[k] = hits[k] + 1
      added[k] = added[k] + 1
    end
    out[#out + 1] = refused
    out[#out + 1] = hits[k]
    out[#out + 1] = k
  end
end
for k = 3, #KEYS do out[#out + 1] = add_hits(KEYS[k], added[k], hits[k], window) end
return out`;

type CheckRequestsCommand = (...args: Array<string | number>) => Promise<number[]>;

/** One request to check: its client (as its keys name it), whether it counts, and its key's count. */
interface ClientRequest {
  slot: string;
  counted: boolean;
  key?: KeyCount;
}

/** Requests of one client checked by one script call at most. */
const CHECK_BATCH_MAX = 64;

/** What one request of a client found: its ban, and — when it was counted — its count. */
export interface RequestCheck {
  /** Milliseconds left on the client's ban; 0 when it is not banned. */
  banMs: number;
  /** The client's count after this request (rejected = over the limit); absent when not counted. */
  count?: { result: RateLimiterRes; over: boolean };
  /** Its key's `key` policy, when the request carried a `KeyCount` and was not refused per IP. */
  key?: ThrottleOutcome;
}

/**
 * Temporary IP bans, kept in Redis so they hold across replicas and restarts. Violations (429s)
 * and failed authentications are counted separately; either reaching its threshold within the
 * window bans the IP for RATE_LIMIT_BAN_SECONDS. When a ban ends, by expiry or unban, the
 * client starts clean.
 */
@Injectable()
export class BanList {
  /** The request counter of the rate limiter (reset when a ban starts or is lifted). */
  private readonly requests: RateLimiterRedis;
  /** The same count in this process alone: what limits while Redis cannot answer. */
  private readonly requestsInMemory: RateLimiterMemory;
  private readonly checkRequestsCommand: CheckRequestsCommand;
  /** A client's requests of one turn of the event loop, checked and counted by one call. */
  private readonly checks = new TurnBatches<ClientRequest, RequestCheck>(
    (requests) => this.checkAll(requests),
    CHECK_BATCH_MAX,
  );
  private readonly violations: RateLimiterRedis;
  private readonly authFailures: RateLimiterRedis;
  private readonly exempt: AddressList;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    const { rateLimit } = config;
    this.exempt = new AddressList(rateLimit.exemptIps);
    const limiter = (name: string, points: number, duration: number) =>
      new RateLimiterRedis({
        storeClient: redis,
        keyPrefix: `${KEY_PREFIX}:${name}`,
        points,
        duration,
        rejectIfRedisNotReady: true,
      });
    // When Redis cannot answer, each process counts the same limit in memory: nothing a
    // client can do to Redis (fill it, slow it) switches the limit off.
    this.requestsInMemory = new RateLimiterMemory({
      points: rateLimit.perMinute,
      duration: RATE_LIMIT_WINDOW_SECONDS,
    });
    this.requests = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${KEY_PREFIX}:req`,
      points: rateLimit.perMinute,
      duration: RATE_LIMIT_WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
      insuranceLimiter: this.requestsInMemory,
    });
    redis.defineCommand('rlCheckRequests', { lua: CHECK_REQUESTS_SCRIPT });
    const commands = redis as unknown as { rlCheckRequests: CheckRequestsCommand };
    this.checkRequestsCommand = (...args) => untraced(() => commands.rlCheckRequests(...args));
    this.violations = limiter('viol', rateLimit.banThreshold, rateLimit.banWindowSeconds);
    this.authFailures = limiter(
      'auth',
      rateLimit.authFailureBanThreshold,
      rateLimit.banWindowSeconds,
    );
  }

  /** The client a request counts as (see `clientKey`): every method here takes an address. */
  clientOf(ip: string): string {
    return clientKey(ip, this.config.rateLimit.ipv6Prefix);
  }

  /**
   * The client as its Redis keys name it: in braces, a hash tag, so that its ban and its
   * counters live in one slot of a Redis Cluster (the request check reads the ban and counts in
   * one script).
   */
  private slotOf(ip: string): string {
    return `{${this.clientOf(ip)}}`;
  }

  /** The ban of a client, by its `slotOf`. */
  private banKey(slot: string): string {
    return `${KEY_PREFIX}:ban:${slot}`;
  }

  /**
   * A request of `ip`'s client: its ban, then, when `counted` and not banned, its count, and with
   * `key` its key's count too (see `CHECK_REQUESTS_SCRIPT`). The client's requests of one turn of
   * the event loop go in one round trip, counted in arrival order exactly as one call each would
   * count them (`TurnBatches`: Redis runs a connection's scripts whole and in order, so a client's
   * calls in flight together stay exact). Rejects when Redis cannot answer (the caller counts in
   * memory: `countInMemory`; a key's count is then left to the per-key guard).
   */
  checkRequest(ip: string, counted: boolean, key?: KeyCount): Promise<RequestCheck> {
    const slot = this.slotOf(ip);
    return this.checks.submit(slot, { slot, counted, key: counted ? key : undefined });
  }

  /** One script call for one client's requests, counted in arrival order. */
  private async checkAll(requests: ClientRequest[]): Promise<PromiseSettledResult<RequestCheck>[]> {
    const { slot } = requests[0];
    const counting = requests.filter((request) => request.counted);
    const keyed = counting.filter((request) => request.key).length;
    const keys = [this.banKey(slot), this.requests.getKey(slot)];
    const args: Array<string | number> = [RATE_LIMIT_WINDOW_SECONDS, counting.length];
    if (keyed > 0) {
      args.push(this.config.rateLimit.perMinute, KEY_POLICY_WINDOW_MS);
      for (const { key } of counting) {
        if (!key) {
          args.push(0, 0);
          continue;
        }
        const at = keys.indexOf(key.counter, 2);
        // Lua's KEYS count from 1
        args.push((at < 0 ? keys.push(key.counter) - 1 : at) + 1, key.limit);
      }
    }
    const reply = await this.checkRequestsCommand(keys.length, ...keys, ...args);
    const [banMs, consumed, msBeforeNext] = reply;
    const points = this.config.rateLimit.perMinute;
    // the batch's counted requests took the counts consumed - counting + 1 … consumed, in order
    let count = consumed - counting.length;
    // after the client's three values: one triple per request with a key, then each counter's ttl
    let triple = 3;
    const ttlOf = (counter: number) => reply[3 + 3 * keyed + counter - 3];
    return requests.map(({ counted, key }): PromiseFulfilledResult<RequestCheck> => {
      if (banMs > 0 || !counted) return { status: 'fulfilled', value: { banMs } };
      count += 1;
      const result = new RateLimiterRes(
        Math.max(0, points - count),
        msBeforeNext,
        count,
        count === 1,
      );
      const value: RequestCheck = { banMs: 0, count: { result, over: count > points } };
      if (key) {
        const [refused, hits, counter] = reply.slice(triple, (triple += 3));
        // refused per IP (-1): the key was not counted, and the request goes no further
        if (refused >= 0) {
          const window = { name: 'key', limit: key.limit, ttlMs: KEY_POLICY_WINDOW_MS };
          value.key = outcomeOf([window], [refused, hits, ttlOf(counter)]);
        }
      }
      return { status: 'fulfilled', value };
    });
  }

  /** Counts a request of `ip`'s client in this process only, while Redis cannot answer. */
  async countInMemory(ip: string): Promise<{ result: RateLimiterRes; over: boolean }> {
    return this.requestsInMemory.consume(this.slotOf(ip)).then(
      (result) => ({ result, over: false }),
      (result: RateLimiterRes) => ({ result, over: true }),
    );
  }

  /** RATE_LIMIT_EXEMPT_IPS: never counted, limited or banned. */
  isExempt(ip: string): boolean {
    return this.exempt.has(ip);
  }

  /** Counts a 429; returns true when this one banned the IP. */
  recordViolation(ip: string): Promise<boolean> {
    return this.count(
      this.violations,
      this.config.rateLimit.banThreshold,
      ip,
      'rate limit exceeded repeatedly',
    );
  }

  /**
   * A wrong credential (API key, dashboard password, metrics token) from `ip`, counted toward
   * AUTH_FAILURE_BAN_THRESHOLD; a Redis outage is logged, never an error for the request.
   */
  async recordFailedCredential(ip: string): Promise<void> {
    await this.recordAuthFailure(ip).catch((error: unknown) => {
      logger.warn({ err: error }, 'Error counting a failed authentication: Redis unavailable');
    });
  }

  /** Counts a failed authentication; returns true when this one banned the IP. */
  recordAuthFailure(ip: string): Promise<boolean> {
    return this.count(
      this.authFailures,
      this.config.rateLimit.authFailureBanThreshold,
      ip,
      'authentication failed repeatedly',
    );
  }

  async ban(ip: string, reason: string): Promise<void> {
    const seconds = this.config.rateLimit.banSeconds;
    await this.redis.set(this.banKey(this.slotOf(ip)), reason, 'EX', seconds);
    // Counting starts over: when the ban ends, the client starts clean.
    await this.resetCounters(ip);
    ipBansTotal.inc();
    const client = this.clientOf(ip);
    securityEvent(
      'ip_banned',
      { ip, client, reason, banSeconds: seconds },
      `banned ${client} for ${seconds}s: ${reason}`,
    );
  }

  /** Lifts a ban at once (of the address's client: its IPv6 prefix); returns whether there was one. */
  async unban(ip: string): Promise<boolean> {
    const removed = await this.redis.del(this.banKey(this.slotOf(ip)));
    await this.resetCounters(ip);
    return removed > 0;
  }

  private async resetCounters(ip: string): Promise<void> {
    const slot = this.slotOf(ip);
    await Promise.all(
      [this.requests, this.violations, this.authFailures].map((l) => l.delete(slot)),
    );
  }

  /** Counts one request of `ip`'s client; rejects with a RateLimiterRes over the limit. */
  consumeRequest(ip: string): Promise<RateLimiterRes> {
    return this.requests.consume(this.slotOf(ip));
  }

  /** The threshold-th event within the window bans (consume rejects only past it, hence >=). */
  private async count(
    limiter: RateLimiterRedis,
    threshold: number,
    ip: string,
    reason: string,
  ): Promise<boolean> {
    if (this.isExempt(ip)) return false;
    const result = await limiter.consume(this.slotOf(ip)).catch((outcome: unknown) => {
      if (outcome instanceof RateLimiterRes) return outcome;
      throw outcome;
    });
    if (result.consumedPoints < threshold) return false;
    await this.ban(ip, reason);
    return true;
  }
}
