import { AppConfig, ConfigModule } from '@app/config';
import { DatabaseModule } from '@app/database';
import { LoggingModule } from '@app/logging';
import { RedisModule } from '@app/redis';
import { SecurityModule } from '@app/security';
import { DynamicModule, Module } from '@nestjs/common';

/** What operator commands need: the database (API keys) and Redis (bans). */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(),
        DatabaseModule,
        RedisModule,
        SecurityModule,
      ],
    };
  }
}
