import { PrivatePostgres } from '../support/private-postgres';
import { CLI_MAIN, runToExit, sleep, startApi, startWorker } from '../support/processes';
import {
  Load,
  createKey,
  isAlive,
  reliabilityEnv,
  send,
  summary,
  waitFor,
  idOf,
  postGeneration,
} from './support';

describe('PostgreSQL restarted under load (a private cluster)', () => {
  it('answers 503 while it is down and recovers fully, with the pool intact', async () => {
    const postgres = await PrivatePostgres.start();
    try {
      const env = reliabilityEnv({
        DATABASE_URL: postgres.url.replace(/\/postgres$/, '/rocket_launch'),
        HEALTH_CHECK_TIMEOUT_MS: '1000',
      });
      const setup = await runToExit(CLI_MAIN, ['db:setup'], env, 60000);
      expect(setup.code).toBe(0);
      const key = await createKey(env);
      const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
      const pids = [api.proc.pid, worker.proc.pid];
      const auth = { Authorization: `Bearer ${key}` };
      try {
        const created = await postGeneration(api.url, key);
        expect(created.status).toBe(202);
        const read = `${api.url}/api/v1/generations/${idOf(created)}`;
        const load = new Load(6, (user) =>
          send(user % 3 === 2 ? `${api.url}/health/ready` : read, { headers: auth }),
        );
        await sleep(1500);
        postgres.down();
        const downAt = Date.now();
        await sleep(4000);
        postgres.up();
        const upAt = Date.now();
        await waitFor(
          async () => (await send(read, { headers: auth })).status === 200,
          30000,
          'reads to work again',
        );
        await sleep(2000);
        const settledAt = Date.now();
        await sleep(2000);
        const outcomes = await load.stop();

        // never a 500, never a dropped connection: 200 or 503 problem details
        expect(
          summary(outcomes.filter((outcome) => outcome.status !== 200 && outcome.status !== 503)),
        ).toEqual({});
        const whileDown = outcomes.filter(
          (outcome) => outcome.at > downAt + 500 && outcome.at < upAt,
        );
        expect(whileDown.length).toBeGreaterThan(10);
        expect(whileDown.filter((outcome) => outcome.status === 503).length).toBeGreaterThan(
          whileDown.length / 2,
        );
        for (const outcome of outcomes.filter((o) => o.status === 503 && o.target === read))
          expect(outcome.contentType).toMatch(/^application\/problem\+json/);
        // fully recovered
        const settled = outcomes.filter((outcome) => outcome.at > settledAt);
        expect(settled.length).toBeGreaterThan(20);
        expect(summary(settled)).toEqual({ '200': settled.length });
        // the pool is not exhausted: nothing waits, nothing beyond its size
        const database = await send(`${api.url}/health/database`, {}, true);
        expect(database.status).toBe(200);
        const pool = (
          JSON.parse(database.body as string) as { details: { pool: Record<string, number> } }
        ).details.pool;
        expect(pool.waiting).toBe(0);
        expect(pool.total).toBeLessThanOrEqual(pool.max);
        expect([isAlive(api), isAlive(worker)]).toEqual([true, true]);
        expect([api.proc.pid, worker.proc.pid]).toEqual(pids);
      } finally {
        await Promise.all([api.stop(), worker.stop()]);
      }
    } finally {
      postgres.destroy();
    }
  });
});
