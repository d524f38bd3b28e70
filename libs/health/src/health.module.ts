import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DatabaseHealthIndicator } from './indicators/database.indicator';
import { QueuesHealthIndicator } from './indicators/queues.indicator';
import { RedisHealthIndicator } from './indicators/redis.indicator';
import { SystemHealthIndicator } from './indicators/system.indicator';
import { WorkersHealthIndicator } from './indicators/workers.indicator';
import { HealthReportService } from './report/health-report.service';

const INDICATORS = [
  DatabaseHealthIndicator,
  RedisHealthIndicator,
  QueuesHealthIndicator,
  WorkersHealthIndicator,
  SystemHealthIndicator,
];

/**
 * Terminus indicators and the reports built from them. Each process serves them its own way:
 * the api through its health controller, the worker through its probe server.
 */
@Module({
  imports: [TerminusModule.forRoot({ errorLogStyle: 'json' })],
  providers: [...INDICATORS, HealthReportService],
  exports: [...INDICATORS, HealthReportService],
})
export class HealthModule {}
