import { Client } from 'pg';
import { freePort } from '../../../test/support/ports';
import {
  API_MAIN,
  CLI_MAIN,
  STACK_FRAME,
  runToExit,
  startApi,
} from '../../../test/support/processes';
import { TEST_DATABASE_URL, testEnv } from '../../../test/support/test-env';

describe('api start-up (real processes, PostgreSQL and Redis)', () => {
  it('boots against real PostgreSQL and Redis, answers /health, and exits 0 on SIGTERM', async () => {
    const api = await startApi(testEnv());
    const response = await fetch(`${api.url}/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(api.stdout()).toContain('shutdown complete');
  });

  it('exits 0 on SIGINT (Ctrl-C)', async () => {
    const api = await startApi(testEnv());
    expect(await api.stop('SIGINT')).toBe(0);
  });

  it('stops with one line per bad variable and exit code 1, no stack trace', async () => {
    const result = await runToExit(API_MAIN, [], testEnv({ PORT: 'abc', LOG_LEVEL: 'loud' }));
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^Invalid configuration: PORT must be an integer/),
      expect.stringMatching(/^Invalid configuration: LOG_LEVEL must be one of/),
    ]);
    expect(result.stderr + result.stdout).not.toMatch(STACK_FRAME);
  });

  it('stops with one line naming host:port when PostgreSQL is unreachable', async () => {
    const port = await freePort();
    const result = await runToExit(
      API_MAIN,
      [],
      testEnv({ DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/rocket_launch_test` }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `Error connecting to PostgreSQL: nothing answered at 127.0.0.1:${port} (ECONNREFUSED)`,
    );
    expect(result.stdout).toContain('docker compose up -d postgres');
    expect(result.stderr + result.stdout).not.toMatch(STACK_FRAME);
  });

  it('stops with one line naming the folder when the log directory is not writable', async () => {
    const result = await runToExit(API_MAIN, [], testEnv({ LOG_DIR: '/proc/rocket-launch-logs' }));
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toMatch(
      /^Error preparing log directory: cannot write to \/proc\/rocket-launch-logs\/api \(E[A-Z]+\)$/,
    );
  });

  it('starts anyway when Redis is unreachable, says so naming host:port, and serves /health', async () => {
    const port = await freePort();
    const api = await startApi(testEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    const line = await api.waitForLine(
      (l) => typeof l.msg === 'string' && l.msg.startsWith('Redis unreachable'),
    );
    expect(line.msg).toBe(
      `Redis unreachable at 127.0.0.1:${port} (ECONNREFUSED); retrying every 1s`,
    );
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect(api.stdout() + api.stderr()).not.toMatch(STACK_FRAME);
    expect(await api.stop()).toBe(0);
  });
});

describe('db:setup', () => {
  const database = `rocket_launch_setup_${process.pid}`;
  const url = TEST_DATABASE_URL.replace(/\/[^/]+$/, `/${database}`);
  const admin = new Client({ connectionString: TEST_DATABASE_URL });

  beforeAll(() => admin.connect());
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('creates a missing database, migrates it, and is safe to run again', async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    const first = await runToExit(CLI_MAIN, ['db:setup'], testEnv({ DATABASE_URL: url }));
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`created database ${database}`);

    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    expect(exists.rowCount).toBe(1);
    const target = new Client({ connectionString: url });
    await target.connect();
    const applied = await target.query('SELECT name FROM migrations ORDER BY id');
    await target.end();
    const { MIGRATIONS } = await import('../src/database/migrations');
    expect(applied.rows.map((row: { name: string }) => row.name)).toEqual(
      MIGRATIONS.map((migration) => migration.name),
    );

    const second = await runToExit(CLI_MAIN, ['db:setup'], testEnv({ DATABASE_URL: url }));
    expect(second.code).toBe(0);
    expect(second.stdout).not.toContain('created database');
    expect(second.stdout).toContain('(0 migrations applied now)');
  });
});
