import { AppConfig, appVersion } from '@app/config';
import { ShutdownState } from '@app/lifecycle';
import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
} from '@nestjs/terminus';
import { DatabaseHealthIndicator } from '../indicators/database.indicator';
import { QueuesHealthIndicator } from '../indicators/queues.indicator';
import { RedisHealthIndicator } from '../indicators/redis.indicator';
import { SystemHealthIndicator } from '../indicators/system.indicator';
import { WorkersHealthIndicator } from '../indicators/workers.indicator';
import { HealthBody, HealthReport, healthBody, withPublicReasons } from './health-body';

const startedAt = Date.now();

/**
 * The health reports of both processes, in Terminus's shape with their HTTP status (the api's
 * routes and the worker's probe server answer the same reports). Liveness asks nothing;
 * readiness asks what the process cannot work without (PostgreSQL, Redis) and turns 503
 * `shutting_down` the moment SIGTERM arrives.
 */
@Injectable()
export class HealthReportService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly queues: QueuesHealthIndicator,
    private readonly workers: WorkersHealthIndicator,
    private readonly system: SystemHealthIndicator,
    private readonly shutdown: ShutdownState,
    private readonly config: AppConfig,
  ) {}

  liveness(): HealthReport {
    return {
      httpStatus: 200,
      body: healthBody(this.shutdown.isShuttingDown ? 'shutting_down' : 'ok'),
    };
  }

  readiness(): Promise<HealthReport> {
    if (this.shutdown.isShuttingDown) {
      return Promise.resolve({ httpStatus: 503, body: healthBody('shutting_down') });
    }
    return this.public(this.run([() => this.database.ping(), () => this.redis.ping()]));
  }

  databaseReport(): Promise<HealthReport> {
    return this.public(this.run([() => this.database.pingWithPool()]));
  }

  detailed(): Promise<HealthReport> {
    return this.run([
      () => this.database.pingWithPool(),
      () => this.redis.detailed(),
      () => this.queues.check(),
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

  /** Unauthenticated reports in production name the failing dependency and a generic reason. */
  private async public(report: Promise<HealthReport>): Promise<HealthReport> {
    const { httpStatus, body } = await report;
    return { httpStatus, body: this.config.isProduction ? withPublicReasons(body) : body };
  }

  /** Terminus answers a failed check by throwing its report; here it becomes a 503 report. */
  private async run(checks: HealthIndicatorFunction[]): Promise<HealthReport> {
    try {
      return { httpStatus: 200, body: (await this.health.check(checks)) as HealthBody };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      return { httpStatus: 503, body: error.getResponse() as HealthBody };
    }
  }
}
