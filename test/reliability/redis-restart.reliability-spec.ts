import { readLog } from '../support/log-files';
import { PrivateRedis } from '../support/private-redis';
import { sleep, startApi, startWorker } from '../support/processes';
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

describe('Redis restarted under load (a private redis-server)', () => {
  it('serves routes that do not need the queue throughout, and limits and jobs come back', async () => {
    const redis = await PrivateRedis.start();
    const env = reliabilityEnv({ REDIS_URL: redis.url, RATE_LIMIT_EXEMPT_IPS: '' });
    const key = await createKey(env);
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    const pids = [api.proc.pid, worker.proc.pid];
    const auth = { Authorization: `Bearer ${key}` };
    const post = () => postGeneration(api.url, key);
    const generationStatus = async (id: string): Promise<string> =>
      (
        JSON.parse(
          (await send(`${api.url}/api/v1/generations/${id}`, { headers: auth }, true)).body ?? '{}',
        ) as {
          status?: string;
        }
      ).status ?? '';
    try {
      const created = await post();
      expect(created.status).toBe(202);
      const id = idOf(created);
      await waitFor(
        async () => (await generationStatus(id)) === 'succeeded',
        15000,
        'the first job',
      );

      const paths = ['/api/v1/me', `/api/v1/generations/${id}`, '/health'];
      const load = new Load(6, (user) =>
        send(`${api.url}${paths[user % paths.length]}`, { headers: auth }),
      );
      await sleep(1500);
      await redis.down();
      await sleep(4000);
      await redis.up();
      await waitFor(async () => (await post()).status === 202, 20000, 'POST to work again');
      const recovered = Date.now();
      await sleep(1500);
      const outcomes = await load.stop();

      expect(outcomes.length).toBeGreaterThan(100);
      expect(summary(outcomes.filter((outcome) => outcome.status !== 200))).toEqual({});
      // limits are back: answers carry the RateLimit header again
      const limited = await fetch(`${api.url}/api/v1/me`, { headers: auth });
      expect(limited.status).toBe(200);
      // …both layers: the per-IP policy first, then the key's
      expect(limited.headers.get('ratelimit')).toMatch(
        /^"default";r=\d+;t=\d+, "key";r=\d+;t=\d+$/,
      );
      // the worker runs jobs again
      const after = await post();
      const afterId = idOf(after);
      await waitFor(
        async () => (await generationStatus(afterId)) === 'succeeded',
        20000,
        'a job after the restart',
      );
      expect(recovered).toBeGreaterThan(0);
      // nothing restarted
      expect([isAlive(api), isAlive(worker)]).toEqual([true, true]);
      expect([api.proc.pid, worker.proc.pid]).toEqual(pids);
      const events = readLog(String(env.LOG_DIR), 'api', 'security').map((line) => line.event);
      expect(events).toContain('security_backend_unavailable');
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
      await redis.down();
    }
  });
});
