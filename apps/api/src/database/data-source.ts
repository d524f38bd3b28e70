import 'reflect-metadata';
import { loadConfigOrExit } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { DataSource } from 'typeorm';
import { PLATFORM_SCHEMA } from './schema';

const config = loadConfigOrExit('cli');

/**
 * Entry for TypeORM's own CLI (`npm run migration:generate`, `migration:revert`): schema changes
 * go through DATABASE_MIGRATION_URL, the direct connection.
 */
export default new DataSource(
  buildDataSourceOptions(config, PLATFORM_SCHEMA, config.database.migrationUrl),
);
