import { AppConfig, appVersion } from '@app/config';
import { ShutdownState } from '@app/lifecycle';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './indicators/database.indicator';
import { GenerationsQueueHealthIndicator } from './indicators/queue.indicator';
import { RedisHealthIndicator } from './indicators/redis.indicator';
import { SystemHealthIndicator } from './indicators/system.indicator';
import { WorkersHealthIndicator } from './indicators/workers.indicator';

export type HealthBody =
  HealthCheckResult | { status: 'shutting_down'; info: object; error: object; details: object };

const startedAt = Date.now();

/**
 * The health reports, in Terminus's shape. Liveness asks nothing; readiness asks what the
 * process cannot work without (PostgreSQL, Redis) and turns 503 `shutting_down` the moment
 * SIGTERM arrives.
 */
@Injectable()
export class HealthReportService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly generationsQueue: GenerationsQueueHealthIndicator,
    private readonly workers: WorkersHealthIndicator,
    private readonly system: SystemHealthIndicator,
    private readonly shutdown: ShutdownState,
    private readonly config: AppConfig,
  ) {}

  liveness(): HealthBody {
    return {
      status: this.shutdown.isShuttingDown ? 'shutting_down' : 'ok',
      info: {},
      error: {},
      details: {},
    } as HealthBody;
  }

  readiness(): Promise<HealthCheckResult> {
    this.rejectWhileShuttingDown();
    return this.health.check([() => this.database.ping(), () => this.redis.ping()]);
  }

  databaseReport(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.pingWithPool()]);
  }

  detailed(): Promise<HealthCheckResult> {
    return this.health.check([
      () => this.database.pingWithPool(),
      () => this.redis.detailed(),
      () => this.generationsQueue.check(),
      () => this.workers.check(),
      () => this.system.disk(),
      () => this.system.memory(),
      () => this.system.cpu(),
      () =>
        this.indicators.check('app').up({
          version: appVersion(),
          environment: this.config.environment,
          uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
          pid: process.pid,
          node: process.version,
        }),
    ]);
  }

  private rejectWhileShuttingDown(): void {
    if (!this.shutdown.isShuttingDown) return;
    throw new ServiceUnavailableException({
      status: 'shutting_down',
      info: {},
      error: {},
      details: {},
    });
  }
}
