import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { HealthReportService } from './health-report.service';
import { DatabaseHealthIndicator } from './indicators/database.indicator';
import { GenerationsQueueHealthIndicator } from './indicators/queue.indicator';
import { RedisHealthIndicator } from './indicators/redis.indicator';
import { SystemHealthIndicator } from './indicators/system.indicator';
import { WorkersHealthIndicator } from './indicators/workers.indicator';
import { HealthMetrics, METRICS_SERVICE } from './metrics/health-metrics';
import { HeartbeatPublisher } from './workers/heartbeat.publisher';
import { WorkerHealthServer } from './worker-health.server';

const INDICATORS = [
  DatabaseHealthIndicator,
  RedisHealthIndicator,
  GenerationsQueueHealthIndicator,
  WorkersHealthIndicator,
  SystemHealthIndicator,
];

/** Terminus indicators; the api serves the reports, the worker beats and answers its probes. */
@Module({})
export class HealthModule {
  static forApi(): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
      controllers: [HealthController],
      providers: [
        ...INDICATORS,
        HealthReportService,
        HealthMetrics,
        { provide: METRICS_SERVICE, useValue: 'api' },
      ],
    };
  }

  static forWorker(): DynamicModule {
    return {
      module: HealthModule,
      imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
      providers: [
        DatabaseHealthIndicator,
        RedisHealthIndicator,
        HeartbeatPublisher,
        WorkerHealthServer,
        HealthMetrics,
        { provide: METRICS_SERVICE, useValue: 'worker' },
      ],
      exports: [WorkerHealthServer],
    };
  }
}
