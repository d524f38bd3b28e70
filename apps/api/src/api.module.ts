import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { ExceptionsModule } from '@app/exceptions';
import { GenerationsModule } from '@app/generations';
import { HealthModule } from '@app/health';
import { LifecycleModule } from '@app/lifecycle';
import { LoggingModule } from '@app/logging';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { SecurityModule } from '@app/security';
import { Module } from '@nestjs/common';
import { GenerationsController } from './generations/generations.controller';
import { MeController } from './me/me.controller';
import { MetricsController } from './metrics/metrics.controller';

/** The HTTP API process: what it can do is the list of modules below. */
@Module({
  imports: [
    ConfigModule.forRoot(),
    LoggingModule.forRoot(),
    ExceptionsModule,
    LifecycleModule,
    DatabaseModule,
    RedisModule,
    QueueModule,
    SecurityModule.forApi(),
    HealthModule.forApi(),
    GenerationsModule.forApi(),
  ],
  controllers: [MeController, GenerationsController, MetricsController],
})
export class ApiModule {}
