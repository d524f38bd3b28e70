import { AppConfig } from '@app/config';
import { createRedisConnection } from '@app/redis';
import { BullModule, getQueueToken } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import type { Queue } from 'bull';
import { QueueRegistry } from './queue-registry';

/**
 * Bull's key prefix for `queue`: QUEUE_PREFIX, and in Cluster mode a hash tag per queue
 * (`bull:{generations}:generations:…`) — Bull's scripts touch many keys of a queue at once, so
 * they must share a slot, and a tag per queue spreads the queues over the masters.
 */
export function queuePrefix(config: AppConfig, queue: string): string {
  return config.redis.mode === 'cluster'
    ? `${config.queue.prefix}:{${queue}}`
    : config.queue.prefix;
}

/**
 * Bull for the platform. `forRoot()` once per process: connections from the one Redis factory,
 * stalled-job settings, and finished jobs trimmed so Redis does not grow without bound.
 * `forFeature(...names)` in the module that owns the queues: registers them with Bull and with
 * the `QueueRegistry`. Retry policy and timeouts belong to each queue's producer.
 */
@Module({})
export class QueueModule {
  static forRoot(): DynamicModule {
    return {
      module: QueueModule,
      global: true,
      imports: [
        BullModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            // Bull's three connection kinds from the one factory; process exit closes them (Nest
            // gives no order between a queue finishing its jobs and a hook closing them first).
            createClient: (type: 'client' | 'subscriber' | 'bclient') =>
              createRedisConnection(config.redis, type),
            prefix: config.queue.prefix,
            settings: {
              lockDuration: config.queue.lockDurationMs,
              stalledInterval: config.queue.stalledIntervalMs,
              maxStalledCount: 1,
            },
            defaultJobOptions: {
              removeOnComplete: config.queue.keepCompleted,
              removeOnFail: config.queue.keepFailed,
            },
          }),
        }),
      ],
      providers: [QueueRegistry],
      exports: [QueueRegistry],
    };
  }

  static forFeature(...names: string[]): DynamicModule {
    const queues = BullModule.registerQueueAsync(
      ...names.map((name) => ({
        name,
        inject: [AppConfig],
        useFactory: (config: AppConfig) => ({ prefix: queuePrefix(config, name) }),
      })),
    );
    return {
      module: QueueModule,
      imports: [queues],
      providers: [
        {
          provide: `QueueRegistration:${names.join(',')}`,
          inject: [QueueRegistry, ...names.map((name) => getQueueToken(name))],
          useFactory: (registry: QueueRegistry, ...registered: Queue[]) => registry.add(registered),
        },
      ],
      exports: [queues],
    };
  }
}
