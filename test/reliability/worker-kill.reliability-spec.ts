import { Client } from 'pg';
import { sleep, startApi, startWorker } from '../support/processes';
import {
  RELIABILITY_DATABASE_URL,
  createKey,
  postGeneration,
  reliabilityEnv,
  waitFor,
} from './support';

const JOBS = 50;

describe('worker SIGKILLed with 50 jobs in flight', () => {
  it('has a new worker finish all 50: every generation succeeded once, none stuck', async () => {
    const env = reliabilityEnv({
      WORKER_CONCURRENCY: String(JOBS),
      LOCAL_PROVIDER_DELAY_MS: '3000',
      QUEUE_LOCK_DURATION_MS: '2000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    });
    const user = `kill-${Date.now()}`;
    const key = await createKey(env, user);
    const db = new Client({ connectionString: RELIABILITY_DATABASE_URL });
    await db.connect();
    const [api, first] = await Promise.all([startApi(env), startWorker(env)]);
    let second: Awaited<ReturnType<typeof startWorker>> | undefined;
    const statuses = async (): Promise<Record<string, number>> => {
      const { rows } = await db.query<{ status: string; count: string }>(
        'SELECT status, count(*) FROM generations WHERE owner_id = $1 GROUP BY status',
        [user],
      );
      return Object.fromEntries(rows.map((row) => [row.status, Number(row.count)]));
    };
    try {
      const responses = await Promise.all(
        Array.from({ length: JOBS }, (_, index) => postGeneration(api.url, key, `job ${index}`)),
      );
      expect(responses.map((response) => response.status)).toEqual(Array(JOBS).fill(202));
      await waitFor(
        async () => (await statuses()).running === JOBS,
        20000,
        'all 50 jobs to be running',
      );

      first.proc.kill('SIGKILL');
      expect(await first.waitForExit(10000)).toBeNull();
      second = await startWorker(env);
      await waitFor(async () => (await statuses()).succeeded === JOBS, 60000, 'all 50 to succeed');
      await sleep(1000);

      expect(await statuses()).toEqual({ succeeded: JOBS });
      const { rows } = await db.query<{ prompt: string; result: string; attempts: number }>(
        'SELECT prompt, result, attempts FROM generations WHERE owner_id = $1',
        [user],
      );
      // one record per request, each with its own answer, run at most once more than killed
      expect(rows).toHaveLength(JOBS);
      expect(new Set(rows.map((row) => row.prompt)).size).toBe(JOBS);
      for (const row of rows) {
        expect(row.result).toMatch(/^\[local-dev-echo\] \w+/);
        expect(row.attempts).toBeGreaterThanOrEqual(1);
        expect(row.attempts).toBeLessThanOrEqual(2);
      }
    } finally {
      await Promise.all([api.stop(), second?.stop()]);
      await db.end();
    }
  });
});
