import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { assertDatabaseAvailable } from './database-availability';
import { DatabaseSchema, buildDataSourceOptions } from './database-options';
import { describeDatabaseUrl, maintenanceUrl } from './database-target';

const logger = getLogger('DatabaseSetup');

/** Creates the database named in DATABASE_URL when it does not exist yet. */
async function ensureDatabaseExists(url: string): Promise<boolean> {
  const { database } = describeDatabaseUrl(url);
  await assertDatabaseAvailable(maintenanceUrl(url));
  const client = new Client({ connectionString: maintenanceUrl(url) });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount) return false;
    // Identifiers cannot be parameters; quote it the way PostgreSQL does.
    await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
    return true;
  } catch (error) {
    // Two processes racing to create it: the loser sees 42P04 and the database is there.
    if ((error as { code?: string }).code === '42P04') return false;
    throw error;
  } finally {
    await client.end();
  }
}

/** Runs every pending migration, each in its own transaction. Returns the names it ran. */
async function runPendingMigrations(config: AppConfig, schema: DatabaseSchema): Promise<string[]> {
  // through the direct connection: a pooler in transaction mode is no place for DDL
  const dataSource = new DataSource(
    buildDataSourceOptions(config, schema, config.database.migrationUrl),
  );
  await dataSource.initialize();
  try {
    const ran = await dataSource.runMigrations({ transaction: 'each' });
    return ran.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

/**
 * `db:setup`: the database exists and is migrated afterwards; safe to run any number of times.
 * Both steps use DATABASE_MIGRATION_URL (PgBouncer cannot `CREATE DATABASE` nor reach the
 * maintenance database).
 */
export async function setupDatabase(config: AppConfig, schema: DatabaseSchema): Promise<void> {
  const { database } = describeDatabaseUrl(config.database.migrationUrl);
  if (await ensureDatabaseExists(config.database.migrationUrl)) {
    logger.info({ database }, `created database ${database}`);
  }
  const ran = await runPendingMigrations(config, schema);
  logger.info(
    { database, migrations: ran },
    `database ${database} is up to date (${ran.length} migrations applied now)`,
  );
}
