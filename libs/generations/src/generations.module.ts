import { QueueModule } from '@app/queue';
import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Generation } from './generation.entity';
import { GENERATIONS_QUEUE, GENERATION_RETENTION_QUEUE, GenerationQueue } from './generation-queue';
import { GenerationStore } from './generation.store';
import { GenerationsService } from './generations.service';

const queues = QueueModule.forFeature(GENERATIONS_QUEUE, GENERATION_RETENTION_QUEUE);

/**
 * The generations domain, as both processes share it: its table (entity and store), its queues
 * (registered with the platform's queue registry, so the dashboard, health and metrics list
 * them), its producer, and the api-facing service. The worker adds the processing itself.
 */
@Module({
  imports: [TypeOrmModule.forFeature([Generation]), queues],
  providers: [GenerationStore, GenerationQueue, GenerationsService],
  exports: [GenerationStore, GenerationQueue, GenerationsService, queues],
})
export class GenerationsModule {}
