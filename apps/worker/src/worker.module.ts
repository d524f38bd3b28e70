import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { GenerationsModule } from '@app/generations';
import { HealthModule } from '@app/health';
import { LifecycleModule } from '@app/lifecycle';
import { LoggingModule } from '@app/logging';
import { QueueModule } from '@app/queue';
import { RedisModule } from '@app/redis';
import { Module } from '@nestjs/common';

/** The queue consumer process: no HTTP API, only what running jobs needs. */
@Module({
  imports: [
    ConfigModule.forRoot(),
    LoggingModule.forRoot(),
    LifecycleModule,
    DatabaseModule,
    RedisModule,
    QueueModule,
    HealthModule.forWorker(),
    GenerationsModule.forWorker(),
  ],
})
export class WorkerModule {}
