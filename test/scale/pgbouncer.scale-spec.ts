import { Client } from 'pg';
import { createApiKey } from '../support/api-keys';
import { PrivatePgBouncer } from '../support/private-pgbouncer';
import { PrivateRedis } from '../support/private-redis';
import { CLI_MAIN, runToExit, startApi, startWorker } from '../support/processes';
import { idOf, postGeneration, send, summary, waitFor } from '../reliability/support';
import { scaleEnv } from './scale-env';

const DATABASE = 'rocket_launch_pgbouncer';
const DIRECT_URL = `postgres://postgres:postgres@127.0.0.1:5432/${DATABASE}`;

/** A query on a direct connection (not through PgBouncer) to `database`. */
async function direct<T>(sql: string, values: unknown[] = [], database = DATABASE): Promise<T[]> {
  const client = new Client({ connectionString: DIRECT_URL.replace(DATABASE, database) });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('PgBouncer in transaction mode in front of PostgreSQL (Debian pgbouncer 1.18)', () => {
  let bouncer: PrivatePgBouncer;
  let redis: PrivateRedis;

  beforeAll(async () => {
    await direct(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`, [], 'postgres');
    // one after the other: a server started beside one that failed would be left running
    redis = await PrivateRedis.start();
    bouncer = await PrivatePgBouncer.start([DATABASE]);
  });

  afterAll(async () => {
    await bouncer?.stop();
    await redis?.down();
  });

  it('creates and migrates the database through DATABASE_MIGRATION_URL, then runs the whole flow through PgBouncer', async () => {
    const env = scaleEnv({
      DATABASE_URL: bouncer.url(DATABASE),
      DATABASE_MIGRATION_URL: DIRECT_URL,
      REDIS_URL: redis.url,
    });
    // PgBouncer cannot create the database (nor reach the maintenance one): the direct URL can
    const through = await runToExit(CLI_MAIN, ['db:setup'], { ...env, DATABASE_MIGRATION_URL: '' });
    expect(through.code).toBe(1);
    expect(through.stdout).toContain('no such database: postgres');
    const setup = await runToExit(CLI_MAIN, ['db:setup'], env);
    expect([setup.code, setup.stderr]).toEqual([0, '']);
    expect(setup.stdout).toContain(`created database ${DATABASE}`);
    const [{ migrations }] = await direct<{ migrations: number }>(
      'SELECT count(*)::int AS migrations FROM migrations',
    );
    expect(migrations).toBeGreaterThan(5);

    const key = await createApiKey(env, '--user', 'bouncer');
    const auth = { Authorization: `Bearer ${key}` };
    const api = await startApi(env);
    try {
      // cancel: a generation cancelled while no worker runs stays cancelled
      const queued = await postGeneration(api.url, key, 'cancel me');
      expect(queued.status).toBe(202);
      const cancelled = await send(
        `${api.url}/api/v1/generations/${idOf(queued)}`,
        { method: 'DELETE', headers: auth },
        true,
      );
      expect(cancelled.status).toBe(200);
      expect(JSON.parse(cancelled.body as string)).toMatchObject({ status: 'cancelled' });

      // the idempotency race: 6 concurrent POSTs with one key, one record
      const race = await Promise.all(
        Array.from({ length: 6 }, () =>
          postGeneration(api.url, key, 'once', { 'Idempotency-Key': 'bouncer-race-1' }),
        ),
      );
      expect(race.every((o) => o.status === 202 || o.status === 200)).toBe(true);
      expect(race.filter((o) => o.status === 202)).toHaveLength(1);
      expect(new Set(race.map(idOf)).size).toBe(1);

      // the flow: the worker runs them through PgBouncer too
      const worker = await startWorker(env);
      const posts = await Promise.all(
        Array.from({ length: 30 }, (_, index) => postGeneration(api.url, key, `bounced ${index}`)),
      );
      expect(summary(posts)).toEqual({ '202': 30 });
      const ids = [...posts.map(idOf), idOf(race[0])];
      await waitFor(
        async () => {
          const statuses = await Promise.all(
            ids.map(async (id) => {
              const read = await send(
                `${api.url}/api/v1/generations/${id}`,
                { headers: auth },
                true,
              );
              return (JSON.parse(read.body ?? '{}') as { status?: string }).status;
            }),
          );
          return statuses.every((status) => status === 'succeeded');
        },
        30000,
        'every generation succeeded',
      );
      const [race1] = await direct<{ n: number }>(
        "SELECT count(*)::int AS n FROM generations WHERE idempotency_key = 'bouncer-race-1'",
      );
      expect(race1.n).toBe(1);
      const [cancelledRow] = await direct<{ status: string }>(
        'SELECT status FROM generations WHERE id = $1',
        [idOf(queued)],
      );
      expect(cancelledRow.status).toBe('cancelled');

      // the cursor: pages of 7 list every one of the key's 32 generations exactly once
      const listed: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await send(
          `${api.url}/api/v1/generations?limit=7${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
          { headers: auth },
          true,
        );
        expect(page.status).toBe(200);
        const body = JSON.parse(page.body as string) as {
          items: Array<{ id: string }>;
          nextCursor: string | null;
        };
        listed.push(...body.items.map((item) => item.id));
        cursor = body.nextCursor;
      } while (cursor);
      expect(listed.sort()).toEqual([...ids, idOf(queued)].sort());

      // health through PgBouncer: ready, and the database indicator with its pool
      expect((await send(`${api.url}/health/ready`)).status).toBe(200);
      const database = await send(`${api.url}/health/database`, {}, true);
      expect(database.status).toBe(200);

      // and it really went through PgBouncer, in transaction mode
      const pools = await bouncer.admin('SHOW POOLS');
      const pool = pools.find((row) => row.database === DATABASE);
      expect(pool?.pool_mode).toBe('transaction');
      const stats = await bouncer.admin('SHOW STATS');
      expect(
        Number(stats.find((row) => row.database === DATABASE)?.total_xact_count),
      ).toBeGreaterThan(100);
      expect(bouncer.output).not.toMatch(/prepared statement|unsupported startup parameter/i);
      expect(await worker.stop()).toBe(0);
    } finally {
      expect(await api.stop()).toBe(0);
    }
  });
});
