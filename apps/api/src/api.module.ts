import { AppConfig, ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { ExceptionsModule } from '@app/exceptions';
import { GenerationsModule, GenerationsService } from '@app/generations';
import { HealthModule } from '@app/health';
import { LifecycleModule } from '@app/lifecycle';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import {
  ApiKeyGuard,
  KeyThrottlerGuard,
  KeyThrottlerStorage,
  SecurityModule,
  keyThrottlerOptions,
} from '@app/security';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { isIdempotentReplay } from './generations/idempotency-key.decorator';
import { GenerationsController } from './generations/generations.controller';
import { GenerationEventHub } from './generations/events/generation-event-hub';
import { GenerationStreams } from './generations/events/generation-streams';
import { StreamSlots } from './generations/events/stream-slots';
import { HealthController } from './health/health.controller';
import { MeController } from './me/me.controller';
import { MetricsController } from './metrics/metrics.controller';
import { UsageController } from './usage/usage.controller';

/**
 * The HTTP API process: what it can do is the list of modules and routes below. Every route
 * needs an API key unless it says @Public(), and every keyed route is counted by the per-key
 * layer (`key`; `generations` where a handler declares it) unless it says @SkipThrottle().
 */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(),
        ExceptionsModule,
        LifecycleModule,
        DatabaseModule,
        RedisModule,
        QueueModule.forRoot(),
        SecurityModule,
        HealthModule,
        MetricsModule,
        GenerationsModule,
        ThrottlerModule.forRootAsync({
          imports: [SecurityModule, GenerationsModule],
          inject: [KeyThrottlerStorage, GenerationsService],
          useFactory: (storage: KeyThrottlerStorage, generations: GenerationsService) =>
            keyThrottlerOptions(storage, {
              generationsExemptIf: (context) => isIdempotentReplay(context, generations),
            }),
        }),
      ],
      controllers: [
        HealthController,
        MetricsController,
        MeController,
        GenerationsController,
        UsageController,
      ],
      // in this order: the key guard finds the key, then the per-key layer counts it
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_GUARD, useClass: KeyThrottlerGuard },
        GenerationStreams,
        GenerationEventHub,
        StreamSlots,
      ],
    };
  }
}
