import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The test database and Redis index: never the development ones. */
export const TEST_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_test';
export const TEST_REDIS_URL = 'redis://127.0.0.1:6379/1';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `rl-${prefix}-`));
}

/**
 * The environment every process a test starts gets: test database, test Redis index, JSON logs
 * on stdout (so tests can read them), its own log folder, and ports picked by the OS.
 */
export function testEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ENVIRONMENT: 'test',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    LOG_DIR: tempDir('logs'),
    PORT: '0',
    WORKER_HEALTH_PORT: '0',
  };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}
