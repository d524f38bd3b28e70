import { Client } from 'pg';
import { join } from 'node:path';
import { CLI_MAIN, ROOT, runToExit } from '../../../test/support/processes';
import { TEST_DATABASE_URL, tempDir, testEnv } from '../../../test/support/test-env';

const TYPEORM_CLI = join(ROOT, 'node_modules/typeorm/cli.js');
const DATA_SOURCE = join(ROOT, 'dist/apps/api/apps/api/src/database/data-source.js');

/** TypeORM's schema diff: exit 0 when the entities match the database, non-zero otherwise. */
function schemaDiff(databaseUrl: string): ReturnType<typeof runToExit> {
  return runToExit(
    TYPEORM_CLI,
    ['migration:generate', '--check', '-d', DATA_SOURCE, join(tempDir('schema'), 'Pending')],
    testEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }),
    60000,
  );
}

describe('entities and migrations describe one schema', () => {
  it('proposes no migration against a freshly migrated database', async () => {
    const result = await schemaDiff(TEST_DATABASE_URL);
    expect(result.stdout + result.stderr).toContain('No changes in database schema were found');
    expect(result.code).toBe(0);
  });

  it('notices a drift: an index the entities declare but the database lacks', async () => {
    const database = `rocket_launch_schema_${process.pid}`;
    const url = TEST_DATABASE_URL.replace(/\/[^/]+$/, `/${database}`);
    const setup = await runToExit(CLI_MAIN, ['db:setup'], testEnv({ DATABASE_URL: url }));
    expect(setup.code).toBe(0);
    const target = new Client({ connectionString: url });
    await target.connect();
    await target.query('DROP INDEX "IDX_generations_status_completed"');
    await target.end();
    try {
      const result = await schemaDiff(url);
      expect(result.code).not.toBe(0);
      expect(result.stdout + result.stderr).toContain('IDX_generations_status_completed');
    } finally {
      const cleanup = new Client({ connectionString: TEST_DATABASE_URL });
      await cleanup.connect();
      await cleanup.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await cleanup.end();
    }
  });
});
