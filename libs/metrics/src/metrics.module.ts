import { HealthModule } from '@app/health';
import { Module } from '@nestjs/common';
import { MetricsService } from './metrics.service';

/** Prometheus metrics for both processes; each serves `MetricsService.scrape` its own way. */
@Module({
  imports: [HealthModule],
  providers: [MetricsService],
  exports: [MetricsService],
})
export class MetricsModule {}
