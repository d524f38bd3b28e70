import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import {
  dbPoolConnections,
  metricsAccess,
  postgresUp,
  queueJobs,
  redisUp,
  initMetrics,
  renderMetrics,
  workersOnline,
} from '@app/metrics';
import { Inject, Injectable, OnModuleInit, Optional } from '@nestjs/common';
import { HealthIndicatorResult } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from '../indicators/database.indicator';
import { GenerationsQueueHealthIndicator } from '../indicators/queue.indicator';
import { RedisHealthIndicator } from '../indicators/redis.indicator';
import { WorkersHealthIndicator } from '../indicators/workers.indicator';
import { RouteResult, WorkerHealthServer } from '../worker-health.server';

const logger = getLogger('Metrics');

/** Which process this is (`api` or `worker`): the `service` label of every series. */
export const METRICS_SERVICE = Symbol('METRICS_SERVICE');

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'completed', 'failed'] as const;

const isUp = (result: HealthIndicatorResult): boolean =>
  Object.values(result).every((entry) => entry.status === 'up');

/**
 * Fills the sampled gauges from the health indicators when `/metrics` is scraped, each within
 * the health check timeout: a frozen dependency makes its gauge 0 (or empty), not the scrape hang.
 * The api samples the queue and the workers online too; every process samples its own pool.
 */
@Injectable()
export class HealthMetrics implements OnModuleInit {
  constructor(
    @Inject(METRICS_SERVICE) private readonly service: string,
    private readonly config: AppConfig,
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    @Optional() private readonly queue?: GenerationsQueueHealthIndicator,
    @Optional() private readonly workers?: WorkersHealthIndicator,
    @Optional() private readonly workerServer?: WorkerHealthServer,
  ) {}

  onModuleInit(): void {
    if (!this.config.metrics.enabled) return;
    initMetrics(this.service);
    if (this.config.isProduction && !this.config.metrics.token)
      logger.warn(
        '/metrics is served without a token: set METRICS_TOKEN, or keep the port private',
      );
    this.workerServer?.addRoute('/metrics', (req) => this.scrape(req.headers.authorization));
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
    const queue = this.queue;
    if (queue) {
      queueJobs.sampleWith(async () => {
        const result = await queue.check();
        const [[name, details]] = Object.entries(result);
        queueJobs.gauge.reset();
        if (details.status !== 'up') return;
        for (const state of QUEUE_STATES)
          queueJobs.gauge.set(
            { queue: name.replace(/^queue:/, ''), state },
            Number(details[state] ?? 0),
          );
      });
    }
    const workers = this.workers;
    if (workers) {
      workersOnline.sampleWith(async () => {
        const [details] = Object.values(await workers.check());
        if (typeof details.online === 'number') workersOnline.gauge.set(details.online);
        else workersOnline.gauge.reset();
      });
    }
  }

  /** The worker's `/metrics` (the api serves its own through a controller). */
  private async scrape(authorization: string | undefined): Promise<RouteResult> {
    const access = metricsAccess(this.config.metrics.token, authorization);
    if (access !== 'allowed') {
      return {
        status: 401,
        type: 'application/problem+json',
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
        body: {
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          code: 'UNAUTHORIZED',
          detail: METRICS_TOKEN_REQUIRED,
          instance: '/metrics',
        },
      };
    }
    const { body, contentType } = await renderMetrics();
    return { status: 200, body, type: contentType };
  }
}

export const METRICS_TOKEN_REQUIRED =
  'Error reading metrics: send the metrics token as Authorization: Bearer <METRICS_TOKEN>';
