import { AppConfig } from '@app/config';
import { AppException, errorMessage } from '@app/exceptions';
import {
  DatabaseHealthIndicator,
  QueuesHealthIndicator,
  RedisHealthIndicator,
  WorkersHealthIndicator,
} from '@app/health';
import { getLogger } from '@app/logging';
import { Injectable, OnModuleInit } from '@nestjs/common';
import { HealthIndicatorResult } from '@nestjs/terminus';
import type { RequestHandler } from 'express';
import { RouteTemplates, httpMetrics } from './http-metrics';
import { METRICS_TOKEN_REQUIRED, metricsAccess } from './metrics-access';
import {
  dbPoolConnections,
  postgresUp,
  queueJobs,
  redisUp,
  renderMetrics,
  startCollecting,
  workersOnline,
} from './registry';

const logger = getLogger('Metrics');

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

const isUp = (result: HealthIndicatorResult): boolean =>
  Object.values(result).every((entry) => entry.status === 'up');

/**
 * The metrics of this process, and the one place METRICS_ENABLED is decided: collection starts
 * here, the HTTP middleware counts here, and a scrape is answered (or refused: 404 when off,
 * 401 without the token) here, for the api's controller and the worker's probe server alike.
 * Sampled gauges are filled from the health indicators at scrape time, each within the health
 * check timeout: a frozen dependency makes its gauge 0 (or empty), not the scrape hang.
 */
@Injectable()
export class MetricsService implements OnModuleInit {
  constructor(
    private readonly config: AppConfig,
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly queues: QueuesHealthIndicator,
    private readonly workers: WorkersHealthIndicator,
  ) {}

  get enabled(): boolean {
    return this.config.metrics.enabled;
  }

  onModuleInit(): void {
    if (!this.enabled) return;
    startCollecting(this.config.service);
    if (this.config.isProduction && !this.config.metrics.token)
      logger.warn(
        '/metrics is served without a token: set METRICS_TOKEN, or keep the port private',
      );
    dbPoolConnections.sampleWith(() => {
      const stats = this.database.poolStats();
      for (const state of ['total', 'idle', 'waiting', 'max'] as const)
        dbPoolConnections.gauge.set({ state }, stats[state]);
    });
    postgresUp.sampleWith(async () => {
      postgresUp.gauge.set(isUp(await this.database.ping()) ? 1 : 0);
    });
    redisUp.sampleWith(async () => {
      redisUp.gauge.set(isUp(await this.redis.ping()) ? 1 : 0);
    });
    queueJobs.sampleWith(async () => {
      const result = await this.queues.check();
      queueJobs.gauge.reset();
      for (const [key, details] of Object.entries(result)) {
        if (details.status !== 'up') continue;
        for (const state of QUEUE_STATES)
          queueJobs.gauge.set(
            { queue: key.replace(/^queue:/, ''), state },
            Number(details[state] ?? 0),
          );
      }
    });
    workersOnline.sampleWith(async () => {
      const [details] = Object.values(await this.workers.check());
      if (typeof details.online === 'number') workersOnline.gauge.set(details.online);
      else workersOnline.gauge.reset();
    });
  }

  /** Counts and times every response when metrics are on; passes through when they are off. */
  httpMiddleware(routes: RouteTemplates): RequestHandler {
    return this.enabled ? httpMetrics(routes) : (_req, _res, next) => next();
  }

  /** Whether `authorization` is a token, and not the right one (a guess, where a token is set). */
  isWrongToken(authorization: string | undefined): boolean {
    return metricsAccess(this.config.metrics.token, authorization) === 'wrong';
  }

  /** The exposition text for a scrape with this Authorization header, or an AppException. */
  async scrape(authorization: string | undefined): Promise<{ body: string; contentType: string }> {
    if (!this.enabled) {
      throw new AppException(
        404,
        errorMessage('finding resource', 'the requested resource does not exist'),
      );
    }
    if (metricsAccess(this.config.metrics.token, authorization) !== 'allowed') {
      throw new AppException(401, METRICS_TOKEN_REQUIRED, {
        code: 'UNAUTHORIZED',
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    }
    return renderMetrics();
  }
}
