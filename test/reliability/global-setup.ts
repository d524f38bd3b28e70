import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CLI_MAIN } from '../support/processes-paths';
import { testEnv } from '../support/test-env';
import { RELIABILITY_DATABASE_URL, RELIABILITY_REDIS_URL } from './reliability-env';

/** A fresh reliability database (created and migrated by the real db:setup) and Redis index. */
export default async function globalSetup(): Promise<void> {
  const admin = new Client({
    connectionString: RELIABILITY_DATABASE_URL.replace(/\/[^/]+$/, '/postgres'),
  });
  await admin.connect();
  await admin.query('DROP DATABASE IF EXISTS rocket_launch_reliability WITH (FORCE)');
  await admin.end();
  execFileSync(process.execPath, [CLI_MAIN, 'db:setup'], {
    env: testEnv({ DATABASE_URL: RELIABILITY_DATABASE_URL, LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const redis = new Redis(RELIABILITY_REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}
