import { AppConfig } from '@app/config';
import type { DataSourceOptions, MigrationInterface } from 'typeorm';
import { TypeOrmPinoLogger } from './typeorm-pino.logger';

/** Milliseconds to wait for a pooled connection before the request fails (no endless queue). */
const CONNECTION_TIMEOUT_MS = 5000;

/**
 * The tables' entities and the migrations that create them, listed by the process that runs
 * migrations (the apps' modules register their own entities instead). Imported explicitly, so
 * the build never depends on file globs.
 */
export interface DatabaseSchema {
  entities: Array<new (...args: never[]) => unknown>;
  migrations: Array<new () => MigrationInterface>;
}

/**
 * The single description of how the platform talks to PostgreSQL: used by both apps, the CLI
 * and TypeORM's migration commands (those with `url` = DATABASE_MIGRATION_URL); `synchronize`
 * is never on.
 */
export function buildDataSourceOptions(
  config: AppConfig,
  schema: DatabaseSchema = { entities: [], migrations: [] },
  url: string = config.database.url,
): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: schema.entities,
    migrations: schema.migrations,
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    logger: new TypeOrmPinoLogger(),
    maxQueryExecutionTime: config.database.slowQueryMs,
    extra: {
      max: config.database.poolMax,
      connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
      application_name: 'rocket-launch',
    },
  };
}
