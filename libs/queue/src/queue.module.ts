import { AppConfig } from '@app/config';
import { BullModule } from '@nestjs/bull';
import { Global, Module } from '@nestjs/common';
import { createRedisConnection } from '@app/redis';
import { QUEUE_NAMES } from './queue.constants';

/**
 * Bull's root configuration from the validated config: connections from the one Redis
 * factory, stalled-job settings, retries with exponential backoff, finished jobs trimmed so
 * Redis does not grow without bound, and every queue of the platform registered.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        // Bull's three connection kinds from the one factory; process exit closes them (Nest gives
        // no order between a queue finishing its jobs and a hook that would close them first).
        createClient: (type: 'client' | 'subscriber' | 'bclient') =>
          createRedisConnection(config.redis.url, type),
        settings: {
          lockDuration: config.queue.lockDurationMs,
          stalledInterval: config.queue.stalledIntervalMs,
          maxStalledCount: 1,
        },
        defaultJobOptions: {
          attempts: config.queue.attempts,
          backoff: { type: 'exponential', delay: config.queue.backoffMs },
          // The worker bounds each attempt at JOB_TIMEOUT_MS itself; Bull's timeout is the safety net.
          timeout: config.queue.jobTimeoutMs + 5000,
          removeOnComplete: config.queue.keepCompleted,
          removeOnFail: config.queue.keepFailed,
        },
      }),
    }),
    BullModule.registerQueue(...QUEUE_NAMES.map((name) => ({ name }))),
  ],
  exports: [BullModule],
})
export class QueueModule {}
