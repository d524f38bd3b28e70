import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { ipBansTotal } from '@app/metrics';
import { REDIS_CLIENT } from '@app/redis';
import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { securityEvent } from '../events/security-event';
import { AddressList, clientKey } from '../http/client-ip';

export const KEY_PREFIX = 'rl';
const logger = getLogger('BanList');
/** The per-IP limit counts requests over this window (RATE_LIMIT_PER_MINUTE: one minute). */
export const RATE_LIMIT_WINDOW_SECONDS = 60;

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
  private readonly violations: RateLimiterRedis;
  private readonly authFailures: RateLimiterRedis;
  private readonly exempt: AddressList;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
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
    this.requests = new RateLimiterRedis({
      storeClient: redis,
      keyPrefix: `${KEY_PREFIX}:req`,
      points: rateLimit.perMinute,
      duration: RATE_LIMIT_WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
      // When Redis cannot answer, each process counts the same limit in memory: nothing a
      // client can do to Redis (fill it, slow it) switches the limit off.
      insuranceLimiter: new RateLimiterMemory({
        points: rateLimit.perMinute,
        duration: RATE_LIMIT_WINDOW_SECONDS,
      }),
    });
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

  private banKey(ip: string): string {
    return `${KEY_PREFIX}:ban:${this.clientOf(ip)}`;
  }

  /** Milliseconds left on the IP's ban, or 0 when it is not banned. */
  async banRemainingMs(ip: string): Promise<number> {
    const ttl = await this.redis.pttl(this.banKey(ip));
    return ttl > 0 ? ttl : 0;
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
    await this.redis.set(this.banKey(ip), reason, 'EX', seconds);
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
    const removed = await this.redis.del(this.banKey(ip));
    await this.resetCounters(ip);
    return removed > 0;
  }

  private async resetCounters(ip: string): Promise<void> {
    const client = this.clientOf(ip);
    await Promise.all(
      [this.requests, this.violations, this.authFailures].map((l) => l.delete(client)),
    );
  }

  /** Counts one request of `ip`'s client; rejects with a RateLimiterRes over the limit. */
  consumeRequest(ip: string): Promise<RateLimiterRes> {
    return this.requests.consume(this.clientOf(ip));
  }

  /** The threshold-th event within the window bans (consume rejects only past it, hence >=). */
  private async count(
    limiter: RateLimiterRedis,
    threshold: number,
    ip: string,
    reason: string,
  ): Promise<boolean> {
    if (this.isExempt(ip)) return false;
    const result = await limiter.consume(this.clientOf(ip)).catch((outcome: unknown) => {
      if (outcome instanceof RateLimiterRes) return outcome;
      throw outcome;
    });
    if (result.consumedPoints < threshold) return false;
    await this.ban(ip, reason);
    return true;
  }
}
