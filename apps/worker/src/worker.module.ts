import { AppConfig, ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { GENAI_PROVIDER, GenerationsModule } from '@app/generations';
import { HealthModule } from '@app/health';
import { LifecycleModule } from '@app/lifecycle';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { DynamicModule, Module } from '@nestjs/common';
import { GenerationProcessor } from './generations/generation.processor';
import { HeartbeatPublisher } from './health/heartbeat.publisher';
import { WorkerHealthServer } from './health/worker-health.server';
import { GenerationReconciler } from './upkeep/generation-reconciler';
import { GenerationRetention } from './upkeep/generation-retention';
import { WebhookDeliveryProcessor } from './webhooks/webhook-delivery.processor';

/**
 * The queue consumer process: no HTTP API. What it does is the list of providers below — run
 * generations through the configured provider, deliver their completion webhooks, keep records
 * and jobs in step, delete expired generations, announce itself, and answer its probes.
 */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(),
        LifecycleModule,
        DatabaseModule,
        RedisModule,
        QueueModule.forRoot(),
        HealthModule,
        MetricsModule,
        GenerationsModule,
      ],
      providers: [
        GENAI_PROVIDER,
        GenerationProcessor,
        GenerationReconciler,
        GenerationRetention,
        WebhookDeliveryProcessor,
        HeartbeatPublisher,
        WorkerHealthServer,
      ],
    };
  }
}
