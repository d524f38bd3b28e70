import Queue from 'bull';
import { Client } from 'pg';
import { PrivatePostgres } from '../support/private-postgres';
import { PrivateRedis } from '../support/private-redis';
import {
  CLI_MAIN,
  RunningProcess,
  runToExit,
  sleep,
  startApi,
  startWorker,
} from '../support/processes';
import { createKey, idOf, isAlive, postGeneration, reliabilityEnv, waitFor } from './support';

/** The worker's reconciler period; "within two periods" is the promise these cases check. */
const RECONCILE_PERIOD_MS = 30_000;

interface Row {
  id: string;
  status: string;
  attempts: number;
  error: string | null;
  result: string | null;
  completed_at: Date | null;
}

/** A private PostgreSQL (migrated) and Redis for one case: its faults touch nothing else. */
async function privateStores(postgresSettings: Record<string, string> = {}): Promise<{
  postgres: PrivatePostgres;
  redis: PrivateRedis;
  databaseUrl: string;
  db: Database;
  close: () => Promise<void>;
}> {
  const [postgres, redis] = await Promise.all([
    PrivatePostgres.start(postgresSettings),
    PrivateRedis.start(),
  ]);
  const databaseUrl = postgres.url.replace(/\/postgres$/, '/rocket_launch');
  const setup = await runToExit(
    CLI_MAIN,
    ['db:setup'],
    reliabilityEnv({ DATABASE_URL: databaseUrl, REDIS_URL: redis.url }),
    60000,
  );
  expect(setup.code).toBe(0);
  return {
    postgres,
    redis,
    databaseUrl,
    db: new Database(databaseUrl),
    close: async () => {
      postgres.destroy();
      await redis.down();
    },
  };
}

/** The test's own view of the records: a connection per query, so a restart cannot break it. */
class Database {
  constructor(private readonly url: string) {}

  async query<T extends object>(sql: string, params: unknown[] = []): Promise<{ rows: T[] }> {
    const client = new Client({ connectionString: this.url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query<T>(sql, params);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

async function rows(db: Database, ids: string[]): Promise<Row[]> {
  const result = await db.query<Row>(
    'SELECT id, status, attempts, error, result, completed_at FROM generations WHERE id = ANY($1)',
    [ids],
  );
  return result.rows;
}

async function row(db: Database, id: string): Promise<Row> {
  const [found] = await rows(db, [id]);
  return found;
}

describe('durability of the generation lifecycle (private PostgreSQL and Redis per case)', () => {
  it('repairs every generation after PostgreSQL is away for 20 s while they flow', async () => {
    const stores = await privateStores();
    const env = reliabilityEnv({
      DATABASE_URL: stores.databaseUrl,
      REDIS_URL: stores.redis.url,
      LOCAL_PROVIDER_DELAY_MS: '1000',
      QUEUE_BACKOFF_MS: '500',
    });
    const key = await createKey(env);
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      const accepted: string[] = [];
      const post = async (n: number): Promise<void> => {
        const outcome = await postGeneration(api.url, key, `flow ${n}`);
        if (outcome.status === 202) accepted.push(idOf(outcome));
      };
      for (let n = 0; n < 30; n += 1) await post(n);
      const unfinished = (await rows(stores.db, accepted)).filter((r) =>
        ['queued', 'running'].includes(r.status),
      );
      expect(unfinished.length).toBeGreaterThan(10);
      stores.postgres.down();
      // generations were running and queued when it went; the api answers 503 meanwhile
      for (let n = 30; n < 40; n += 1) await post(n);
      await sleep(20000);
      stores.postgres.up();
      for (let n = 40; n < 50; n += 1) await post(n);
      expect(accepted.length).toBeGreaterThanOrEqual(40);

      await waitFor(
        async () =>
          (await rows(stores.db, accepted)).every((r) =>
            ['succeeded', 'failed'].includes(r.status),
          ),
        2 * RECONCILE_PERIOD_MS + 15000,
        'every accepted generation to finish',
      );
      const finished = await rows(stores.db, accepted);
      expect(finished).toHaveLength(accepted.length);
      for (const generation of finished) {
        expect(generation.attempts).toBeGreaterThanOrEqual(1);
        expect(generation.attempts).toBeLessThanOrEqual(3);
        if (generation.status === 'failed') expect(generation.error).toMatch(/^Error /);
      }
      expect(finished.filter((r) => r.status === 'succeeded').length).toBeGreaterThan(0);
      expect(isAlive(worker)).toBe(true);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
      await stores.close();
    }
  });

  for (const keepFailed of ['5000', '0']) {
    it(`never leaves a generation running after its worker is SIGKILLed twice (QUEUE_KEEP_FAILED=${keepFailed})`, async () => {
      const stores = await privateStores();
      const env = reliabilityEnv({
        DATABASE_URL: stores.databaseUrl,
        REDIS_URL: stores.redis.url,
        LOCAL_PROVIDER_DELAY_MS: '8000',
        QUEUE_LOCK_DURATION_MS: '2000',
        QUEUE_STALLED_INTERVAL_MS: '1000',
        QUEUE_KEEP_FAILED: keepFailed,
      });
      const key = await createKey(env);
      const api = await startApi(env);
      const workers: RunningProcess[] = [];
      try {
        const id = idOf(await postGeneration(api.url, key, 'killed twice'));
        for (const attempt of [1, 2]) {
          const worker = await startWorker(env);
          workers.push(worker);
          await waitFor(
            async () => {
              const current = await row(stores.db, id);
              return current.status === 'running' && current.attempts === attempt;
            },
            20000,
            `attempt ${attempt} to run`,
          );
          worker.proc.kill('SIGKILL');
          await worker.waitForExit(10000);
        }
        const last = await startWorker(env);
        workers.push(last);
        // Bound: the lock expires (2 s), the stalled check fails the job (1 s); with no failed
        // job kept, the reconciler's next pass (30 s) re-queues it and the third attempt runs (8 s).
        await waitFor(
          async () => ['failed', 'succeeded'].includes((await row(stores.db, id)).status),
          keepFailed === '0' ? RECONCILE_PERIOD_MS + 25000 : 15000,
          'the generation to end',
        );
        const ended = await row(stores.db, id);
        if (keepFailed === '0') {
          expect(ended).toMatchObject({ status: 'succeeded', attempts: 3 });
        } else {
          expect(ended).toMatchObject({ status: 'failed', attempts: 2 });
          expect(ended.error).toBe(
            'Error running generation: the worker running it stopped before it finished, more than once',
          );
        }
        expect(isAlive(last)).toBe(true);
      } finally {
        await Promise.all([api.stop(), ...workers.filter(isAlive).map((w) => w.stop())]);
        await stores.close();
      }
    });
  }

  it('runs a generation again whose claim a PostgreSQL crash lost (claims commit without waiting for WAL)', async () => {
    // the WAL writer flushes every 10 s: a crash within that loses the claim's commit
    const stores = await privateStores({ wal_writer_delay: '10s' });
    const env = reliabilityEnv({
      DATABASE_URL: stores.databaseUrl,
      REDIS_URL: stores.redis.url,
      LOCAL_PROVIDER_DELAY_MS: '4000',
      // the reconciler's grace (twice the lock, at least 10 s): its first pass finds the record
      QUEUE_LOCK_DURATION_MS: '2000',
    });
    const key = await createKey(env);
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      const id = idOf(await postGeneration(api.url, key, 'a lease lost'));
      await waitFor(
        async () => (await row(stores.db, id)).status === 'running',
        10000,
        'the claim',
      );
      stores.postgres.crash();
      stores.postgres.up();
      // the create was committed synchronously, the claim was not: the record is queued again
      expect(await row(stores.db, id)).toMatchObject({ status: 'queued', attempts: 0 });
      // the attempt's result is refused by its guard; the reconciler runs the generation again
      await worker.waitForLine(
        (line) =>
          line.msg ===
          "result discarded: the record is no longer this attempt's (a newer attempt, or a lost claim)",
        15000,
      );
      await waitFor(
        async () => (await row(stores.db, id)).status === 'succeeded',
        RECONCILE_PERIOD_MS + 20000,
        'the generation to succeed',
      );
      const ended = await row(stores.db, id);
      expect(ended).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(ended.result).toEqual(expect.any(String));
      const { rows: all } = await stores.db.query<{ count: string }>(
        'SELECT count(*) FROM generations',
      );
      expect(Number(all[0].count)).toBe(1);
      expect(isAlive(worker)).toBe(true);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
      await stores.close();
    }
  });

  it('repairs a record whose success was lost, and 300 stuck candidates hide no orphan', async () => {
    const stores = await privateStores();
    const env = reliabilityEnv({ DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redis.url });
    const key = await createKey(env);
    const api = await startApi(env);
    let worker = await startWorker(env);
    const queue = new Queue('generations', stores.redis.url);
    try {
      // a lost write: the job completed, the record says queued again
      const lost = idOf(await postGeneration(api.url, key, 'lost write'));
      await waitFor(
        async () => (await row(stores.db, lost)).status === 'succeeded',
        20000,
        'it to run',
      );
      await worker.stop();
      await stores.db.query(
        `UPDATE generations SET status = 'queued', result = NULL, completed_at = NULL,
                created_at = now() - interval '2 minutes' WHERE id = $1`,
        [lost],
      );
      expect(await (await queue.getJob(lost))?.getState()).toBe('completed');

      // 300 older candidates whose jobs wait for later (the reconciler leaves them alone) …
      const stuck = await stores.db.query<{ id: string }>(
        `INSERT INTO generations (owner_id, status, prompt, model, created_at)
         SELECT 'stuck', 'queued', 'p', 'local-dev-echo', now() - interval '1 hour' + n * interval '1 ms'
           FROM generate_series(1, 300) AS n RETURNING id`,
      );
      for (const { id } of stuck.rows)
        await queue.add({ generationId: id }, { jobId: id, delay: 3_600_000 });
      // … and a newer orphan, whose job Redis lost
      const orphan = await stores.db.query<{ id: string }>(
        `INSERT INTO generations (owner_id, status, prompt, model, created_at)
         VALUES ('stuck', 'queued', 'orphan', 'local-dev-echo', now() - interval '1 minute') RETURNING id`,
      );

      worker = await startWorker(env); // reconciles at start
      await waitFor(
        async () =>
          (await rows(stores.db, [lost, orphan.rows[0].id])).every((r) => r.status === 'succeeded'),
        15000,
        'the lost write and the orphan to be repaired',
      );
      expect(await row(stores.db, lost)).toMatchObject({ status: 'succeeded', attempts: 2 });
      const left = await stores.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM generations WHERE owner_id = 'stuck' AND status = 'queued'`,
      );
      expect(left.rows[0].n).toBe(300);
    } finally {
      await queue.close();
      await Promise.all([api.stop(), worker.stop()]);
      await stores.close();
    }
  });

  it('stores one result when two workers hold one generation (a lock lost to a Redis pause)', async () => {
    const stores = await privateStores();
    const common = {
      DATABASE_URL: stores.databaseUrl,
      REDIS_URL: stores.redis.url,
      QUEUE_LOCK_DURATION_MS: '2000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    };
    const slow = reliabilityEnv({
      ...common,
      LOCAL_PROVIDER_DELAY_MS: '7000',
      WORKER_CONCURRENCY: '1',
    });
    const fast = reliabilityEnv({ ...common, LOCAL_PROVIDER_DELAY_MS: '0' });
    const key = await createKey(slow);
    const api = await startApi(slow);
    const first = await startWorker(slow);
    let second: RunningProcess | undefined;
    try {
      const id = idOf(await postGeneration(api.url, key, 'held twice'));
      await waitFor(
        async () => (await row(stores.db, id)).status === 'running',
        20000,
        'attempt 1',
      );
      second = await startWorker(fast);
      // Redis stops answering longer than the lock lives: when it is back, the lock is gone and
      // the job is taken again while the first worker's attempt is still running
      stores.redis.freeze();
      await sleep(3500);
      stores.redis.thaw();
      await waitFor(
        async () => (await row(stores.db, id)).status === 'succeeded',
        20000,
        'attempt 2',
      );
      const stored = await row(stores.db, id);
      expect(stored.attempts).toBe(2);
      // the first attempt ends later: its write must change nothing
      await first.waitForLine(
        (line) =>
          line.msg ===
          "result discarded: the record is no longer this attempt's (a newer attempt, or a lost claim)",
        15000,
      );
      expect(await row(stores.db, id)).toEqual(stored);
    } finally {
      await Promise.all([api.stop(), first.stop(), second?.stop()]);
      await stores.close();
    }
  });

  it('re-queues an attempt at once when its worker is stopped, and a second worker finishes it', async () => {
    const stores = await privateStores();
    const common = { DATABASE_URL: stores.databaseUrl, REDIS_URL: stores.redis.url };
    const env = reliabilityEnv({
      ...common,
      LOCAL_PROVIDER_DELAY_MS: '60000',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    const key = await createKey(env);
    const api = await startApi(env);
    const first = await startWorker(env);
    let second: RunningProcess | undefined;
    try {
      const id = idOf(await postGeneration(api.url, key, 'interrupted'));
      await waitFor(
        async () => (await row(stores.db, id)).status === 'running',
        20000,
        'attempt 1',
      );
      const stoppedAt = Date.now();
      first.proc.kill('SIGTERM');
      expect(await first.waitForExit(10000)).toBe(0);
      expect(Date.now() - stoppedAt).toBeLessThan(8000);
      expect(await row(stores.db, id)).toMatchObject({
        status: 'queued',
        attempts: 1,
        error: 'Error generating text: the worker stopped during the attempt',
      });

      second = await startWorker(reliabilityEnv({ ...common, LOCAL_PROVIDER_DELAY_MS: '0' }));
      await waitFor(
        async () => (await row(stores.db, id)).status === 'succeeded',
        20000,
        'attempt 2',
      );
      expect(await row(stores.db, id)).toMatchObject({
        status: 'succeeded',
        attempts: 2,
        error: null,
      });
    } finally {
      await Promise.all([api.stop(), second?.stop()]);
      await stores.close();
    }
  });
});
