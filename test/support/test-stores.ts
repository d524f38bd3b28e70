import { execFileSync } from 'node:child_process';
import Redis from 'ioredis';
import { Client } from 'pg';
import { CLI_MAIN } from './processes-paths';
import { testEnv } from './test-env';

/**
 * A fresh database at `databaseUrl`, created and migrated by the real `db:setup` command, and an
 * empty Redis index at `redisUrl` when one is given (what each suite's global setup starts from).
 */
export async function resetTestStores(databaseUrl: string, redisUrl?: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = new Client({ connectionString: databaseUrl.replace(/\/[^/]+$/, '/postgres') });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.end();

  execFileSync(process.execPath, [CLI_MAIN, 'db:setup'], {
    env: testEnv({ DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' }),
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  if (!redisUrl) return;
  const redis = new Redis(redisUrl);
  await redis.flushdb();
  await redis.quit();
}
