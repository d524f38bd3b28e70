import { execFileSync } from 'node:child_process';
import { Client } from 'pg';
import Redis from 'ioredis';
import { CLI_MAIN } from './processes-paths';
import { TEST_DATABASE_URL, TEST_REDIS_URL, testEnv } from './test-env';

/**
 * A fresh test database, created and migrated by the real `db:setup` command, and an empty
 * test Redis index, for every run.
 */
export default async function globalSetup(): Promise<void> {
  const admin = new Client({
    connectionString: TEST_DATABASE_URL.replace(/\/[^/]+$/, '/postgres'),
  });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS rocket_launch_test WITH (FORCE)');
  await admin.end();

  execFileSync(process.execPath, [CLI_MAIN, 'db:setup'], {
    env: testEnv({ LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  const redis = new Redis(TEST_REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}
