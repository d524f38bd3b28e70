import { ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LoggingModule } from '@app/logging';
import { RedisModule } from '@app/redis';
import { SecurityModule } from '@app/security';
import { Module } from '@nestjs/common';

/** What operator commands need: the database (API keys) and Redis (bans). */
@Module({
  imports: [
    ConfigModule.forRoot(),
    LoggingModule.forRoot(),
    DatabaseModule,
    RedisModule,
    SecurityModule,
  ],
})
export class CliModule {}
