import { AppConfig } from '@app/config';
import { AppException, errorMessage } from '@app/exceptions';
import { getLogger } from '@app/logging';
import { bannedRequestsTotal, rateLimitHitsTotal } from '@app/metrics';
import { Inject, Injectable } from '@nestjs/common';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import type { NextFunction, Request, Response } from 'express';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { clientIp } from '../http/client-ip';
import { securityEvent } from '../events/security-event';
import { KeyCountedRoutes } from '../throttling/key-counted-routes';
import { BanList, RATE_LIMIT_WINDOW_SECONDS, RequestCheck } from './ban-list';

const HEALTH_PATHS = new Set(['/health', '/health/ready', '/health/database', '/health/detailed']);

/**
 * How the limiter treats a request. `probe`: a GET/HEAD of a health route, never counted nor
 * blocked (kubelets and load balancers call them). `scrape` (GET /metrics) and `preflight` (an
 * OPTIONS with Origin and Access-Control-Request-Method, only while CORS is on): not counted,
 * but a ban blocks them. Everything else, any other method or path under /health/ included, is
 * `counted`. Only counted requests have their body read.
 */
export type RequestClass = 'probe' | 'scrape' | 'preflight' | 'counted';

export function requestClass(req: Request, corsEnabled: boolean): RequestClass {
  const read = req.method === 'GET' || req.method === 'HEAD';
  if (read && HEALTH_PATHS.has(req.path)) return 'probe';
  if (req.method === 'GET' && req.path === '/metrics') return 'scrape';
  const preflight =
    req.method === 'OPTIONS' &&
    req.headers.origin !== undefined &&
    req.headers['access-control-request-method'] !== undefined;
  return preflight && corsEnabled ? 'preflight' : 'counted';
}

const OUTAGE_EVENT_INTERVAL_MS = 10000;
const logger = getLogger('RateLimit');

/**
 * One count per client IP over everything but health probes, scrapes and CORS preflights (see
 * `requestClass`) — API routes, unknown routes and the dashboard alike — counted in Redis so
 * every replica shares it. Express-level, because a guard never sees unknown routes or raw
 * mounts. An authenticated read's per-key `key` count is taken in the same call when it can be
 * (`KeyCountedRoutes`). When Redis cannot answer, each process limits in memory with the same
 * limit and bans wait; security events mark the outage.
 */
@Injectable()
export class RateLimitMiddleware {
  private readonly policy: string;
  private lastOutageEvent = 0;
  private outageSince?: number;

  constructor(
    private readonly bans: BanList,
    private readonly config: AppConfig,
    private readonly keyCounts: KeyCountedRoutes,
    @Inject(REDIS_CLIENT) redis: RedisClient,
  ) {
    // the outage ends when Redis is back, whether or not a request comes by then
    redis.on('ready', () => this.backendAnswered());
    this.policy = `"default";q=${config.rateLimit.perMinute};w=${RATE_LIMIT_WINDOW_SECONDS}`;
    if (
      typeof config.http.trustProxy === 'number' &&
      (bans.isExempt('127.0.0.1') || bans.isExempt('::1'))
    ) {
      // A hop count trusts whoever connects: a client reaching the api directly can then claim a
      // loopback address in X-Forwarded-For and be exempt.
      logger.warn(
        'TRUST_PROXY is a hop count and RATE_LIMIT_EXEMPT_IPS exempts loopback: a client that reaches the api directly can claim an exempt address; list the proxies instead, or drop the exemption',
      );
    }
  }

  readonly use = (req: Request, res: Response, next: NextFunction): void => {
    const kind = requestClass(req, this.config.http.corsOrigins.length > 0);
    if (kind === 'probe') return next();
    const ip = clientIp(req);
    if (this.bans.isExempt(ip)) return next();
    this.check(ip, kind === 'counted', req, res).then(next, next);
  };

  private async check(
    ip: string,
    counted: boolean,
    req: Request,
    res: Response,
  ): Promise<AppException | undefined> {
    const key = counted ? this.keyCounts.countFor(req) : undefined;
    const checked = await this.bans.checkRequest(ip, counted, key).then(
      (found) => {
        this.backendAnswered();
        return found;
      },
      async (error: unknown): Promise<RequestCheck> => {
        this.backendFailed(ip, error);
        return { banMs: 0, count: counted ? await this.bans.countInMemory(ip) : undefined };
      },
    );
    if (checked.banMs > 0) return this.blocked(ip, checked.banMs, req);
    if (!checked.count) return undefined;
    if (checked.count.over) return this.limited(ip, checked.count.result, req, res);
    this.setHeaders(res, checked.count.result);
    // the per-key guard reads it instead of counting the key again
    if (key && checked.key) req.keyCount = { keyId: key.keyId, outcome: checked.key };
    return undefined;
  }

  private blocked(ip: string, banMs: number, req: Request): AppException {
    const retryAfter = Math.ceil(banMs / 1000);
    bannedRequestsTotal.inc();
    securityEvent(
      'ban_blocked',
      { ip, path: req.path, retryAfter },
      `blocked request from banned ${ip}`,
    );
    return new AppException(
      403,
      errorMessage(
        'processing request',
        `this address is temporarily banned; retry in ${retryAfter}s`,
      ),
      { code: 'IP_BANNED', headers: { 'Retry-After': String(retryAfter) } },
    );
  }

  private async limited(
    ip: string,
    result: RateLimiterRes,
    req: Request,
    res: Response,
  ): Promise<AppException> {
    this.setHeaders(res, result);
    const retryAfter = Math.max(1, Math.ceil(result.msBeforeNext / 1000));
    rateLimitHitsTotal.inc();
    securityEvent(
      'rate_limited',
      { ip, path: req.path, limit: this.config.rateLimit.perMinute },
      `rate limit exceeded by ${ip}`,
    );
    const banned = await this.bans.recordViolation(ip).catch((error: unknown) => {
      this.backendFailed(ip, error);
      return false;
    });
    if (banned) return this.blocked(ip, this.config.rateLimit.banSeconds * 1000, req);
    return new AppException(
      429,
      errorMessage(
        'processing request',
        `rate limit of ${this.config.rateLimit.perMinute} requests per minute exceeded; retry in ${retryAfter}s`,
      ),
      { code: 'RATE_LIMITED', headers: { 'Retry-After': String(retryAfter) } },
    );
  }

  private setHeaders(res: Response, result: RateLimiterRes): void {
    const reset = Math.max(0, Math.ceil(result.msBeforeNext / 1000));
    res.setHeader('RateLimit-Policy', this.policy);
    res.setHeader('RateLimit', `"default";r=${Math.max(0, result.remainingPoints)};t=${reset}`);
  }

  /**
   * Redis did not answer: limits go on in memory and bans wait. The outage is a security event
   * when it starts and at most every OUTAGE_EVENT_INTERVAL_MS while it lasts.
   */
  private backendFailed(ip: string, error: unknown): void {
    const now = Date.now();
    this.outageSince ??= now;
    if (now - this.lastOutageEvent < OUTAGE_EVENT_INTERVAL_MS) return;
    this.lastOutageEvent = now;
    const message = error instanceof Error ? error.message : String(error);
    securityEvent(
      'security_backend_unavailable',
      { ip, reason: message, sinceMs: now - this.outageSince },
      'Error checking rate limit: Redis unavailable; limiting in memory per process, bans not checked',
    );
    logger.warn(
      { reason: message },
      'rate limiting falls back to memory while Redis is unavailable',
    );
  }

  /** …and when it ends. */
  private backendAnswered(): void {
    if (this.outageSince === undefined) return;
    const downForMs = Date.now() - this.outageSince;
    this.outageSince = undefined;
    this.lastOutageEvent = 0;
    securityEvent(
      'security_backend_recovered',
      { downForMs },
      'Redis answers again; rate limits and bans are shared again',
    );
  }
}
