import { AppConfig, ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { ExceptionsModule } from '@app/exceptions';
import { GenerationsModule } from '@app/generations';
import { HealthModule } from '@app/health';
import { LifecycleModule } from '@app/lifecycle';
import { LoggingModule } from '@app/logging';
import { MetricsModule } from '@app/metrics';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { ApiKeyGuard, SecurityModule } from '@app/security';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { GenerationsController } from './generations/generations.controller';
import { HealthController } from './health/health.controller';
import { MeController } from './me/me.controller';
import { MetricsController } from './metrics/metrics.controller';

/**
 * The HTTP API process: what it can do is the list of modules and routes below. Every route
 * needs an API key unless it says @Public().
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
      ],
      controllers: [HealthController, MetricsController, MeController, GenerationsController],
      providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }],
    };
  }
}
