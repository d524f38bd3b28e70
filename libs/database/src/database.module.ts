import { AppConfig } from '@app/config';
import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { buildDataSourceOptions } from './database-options';

/**
 * TypeORM on the pg pool sized by DB_POOL_MAX. Each feature module registers its own entities
 * (`TypeOrmModule.forFeature`), which `autoLoadEntities` collects. Start-up has already proved
 * PostgreSQL answers (assertDatabaseAvailable), so TypeORM is not left to retry with stack traces.
 */
@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        ...buildDataSourceOptions(config),
        autoLoadEntities: true,
        retryAttempts: 0,
      }),
    }),
  ],
  exports: [TypeOrmModule],
})
export class DatabaseModule {}
