import { QueueModule } from '@app/queue';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Generation } from './generation.entity';
import { KeyUsage } from './usage/key-usage.entity';
import { GENERATIONS_QUEUE, GENERATION_RETENTION_QUEUE, GenerationQueue } from './generation-queue';
import { GenerationStore } from './generation.store';
import { GenerationsService } from './generations.service';
import { GenerationEvents } from './events/generation-events';
import { UsageService } from './usage/usage.service';
import { WebhooksModule } from '@app/webhooks';
import { GenerationWebhooks, WEBHOOKS_QUEUE } from './webhooks/generation-webhooks';

const queues = QueueModule.forFeature(
  GENERATIONS_QUEUE,
  GENERATION_RETENTION_QUEUE,
  WEBHOOKS_QUEUE,
);

/**
 * The generations domain, as both processes share it: its table (entity and store), its queues
 * (registered with the platform's queue registry, so the dashboard, health and metrics list
 * them), its producer, and the api-facing service. The worker adds the processing itself.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Generation, KeyUsage]), queues, WebhooksModule],
  providers: [
    GenerationStore,
    GenerationQueue,
    GenerationsService,
    UsageService,
    GenerationEvents,
    GenerationWebhooks,
  ],
  exports: [
    WebhooksModule,
    GenerationWebhooks,
    GenerationStore,
    GenerationQueue,
    GenerationsService,
    UsageService,
    GenerationEvents,
    queues,
  ],
})
export class GenerationsModule {}
