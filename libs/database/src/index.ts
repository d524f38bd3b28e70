export { withAdvisoryLock } from './advisory-lock';
export { DatabaseUnavailableError, assertDatabaseAvailable } from './database-availability';
export { buildDataSourceOptions } from './database-options';
export type { DatabaseSchema } from './database-options';
export { setupDatabase } from './database-setup';
export { DatabaseModule } from './database.module';
