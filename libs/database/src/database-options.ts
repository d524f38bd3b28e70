import { AppConfig } from '@app/config';
import type { DataSourceOptions } from 'typeorm';
import { ENTITIES } from './entities';
import { MIGRATIONS } from './migrations';
import { TypeOrmPinoLogger } from './typeorm-pino.logger';

/** Milliseconds to wait for a pooled connection before the request fails (no endless queue). */
const CONNECTION_TIMEOUT_MS = 5000;

/**
 * The single description of how the platform talks to PostgreSQL: used by both apps, the CLI
 * and TypeORM's migration commands. Entities and migrations are imported explicitly, so the
 * build never depends on file globs; `synchronize` is never on.
 */
export function buildDataSourceOptions(config: AppConfig): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.database.url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
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
