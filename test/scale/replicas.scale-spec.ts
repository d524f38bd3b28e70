import { randomUUID } from 'node:crypto';
import { createApiKey } from '../support/api-keys';
import { PrivateRedis } from '../support/private-redis';
import { RunningProcess, sleep, startApi, startWorker } from '../support/processes';
import {
  Load,
  Outcome,
  idOf,
  postGeneration,
  send,
  summary,
  waitFor,
} from '../reliability/support';
import { scaleEnv } from './scale-env';
import { waitAllSucceeded } from './support';

type Api = RunningProcess & { url: string };

const PER_IP_LIMIT = 50;

/** A client address nobody else uses: the load's per-IP counts stay far below the limit. */
function randomAddress(): string {
  const byte = () => Math.floor(Math.random() * 250) + 1;
  return `10.${byte()}.${byte()}.${byte()}`;
}

describe('many replicas: 3 api processes and 2 workers on one Redis and PostgreSQL', () => {
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
  });

  afterAll(async () => {
    await redis?.down();
  });

  it('keeps limits exact and every generation to one record through a worker SIGKILL and an api SIGTERM under load', async () => {
    const env = scaleEnv({
      REDIS_URL: redis.url,
      RATE_LIMIT_EXEMPT_IPS: '',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_PER_MINUTE: String(PER_IP_LIMIT),
      SHUTDOWN_DRAIN_DELAY_MS: '1500',
      LOCAL_PROVIDER_DELAY_MS: '30',
      // a killed worker's jobs are taken over once their lock expires
      QUEUE_LOCK_DURATION_MS: '5000',
      QUEUE_STALLED_INTERVAL_MS: '5000',
    });
    const key = await createApiKey(env, '--user', 'replicas');
    const limitedKey = await createApiKey(env, '--user', 'replicas-limited', '--rate-limit', '20');
    const admin = await createApiKey(env, '--user', 'replicas-ops', '--admin');
    const apis: Api[] = await Promise.all([startApi(env), startApi(env), startApi(env)]);
    const workers = await Promise.all([startWorker(env), startWorker(env)]);
    const auth = (k: string, ip = randomAddress()) => ({
      Authorization: `Bearer ${k}`,
      'X-Forwarded-For': ip,
    });

    // a client-side balancer that, like Kubernetes, sends only to replicas answering ready
    const ready = new Set<Api>(apis);
    let probing = true;
    const prober = (async () => {
      while (probing) {
        await Promise.all(
          apis.map(async (api) => {
            const probe = await send(`${api.url}/health/ready`);
            if (probe.status === 200) ready.add(api);
            else ready.delete(api);
          }),
        );
        await sleep(100);
      }
    })();
    let turn = 0;
    const pick = (avoid?: Api): Api => {
      const candidates = [...ready].filter((api) => api !== avoid);
      return candidates[turn++ % candidates.length] ?? apis[0];
    };
    /** Sends once; a connection refused or reset before any answer is retried elsewhere. */
    const withRetry = async (request: (api: Api) => Promise<Outcome>): Promise<Outcome> => {
      const first = pick();
      const outcome = await request(first);
      if (!outcome.networkError) return outcome;
      return { ...(await request(pick(first))), retried: true };
    };

    // both workers beat into the one hash
    const detailedWorkers = async () =>
      (
        JSON.parse(
          (
            await send(
              `${apis[0].url}/health/detailed`,
              { headers: { 'X-API-Key': admin, 'X-Forwarded-For': randomAddress() } },
              true,
            )
          ).body ?? '{}',
        ) as { details?: { workers?: { workers?: Array<{ pid: number }> } } }
      ).details?.workers?.workers?.map((w) => w.pid) ?? [];
    await waitFor(
      async () => (await detailedWorkers()).length === 2,
      15000,
      'both workers in the detailed health',
    );
    expect((await detailedWorkers()).sort()).toEqual(workers.map((w) => w.proc.pid).sort());

    const posts: Array<{ idempotencyKey: string; outcome: Outcome }> = [];
    let lastId: string | undefined;
    const load = new Load(8, async (user) => {
      if (user % 2 === 0 || !lastId) {
        const idempotencyKey = randomUUID();
        const outcome = await withRetry((api) =>
          postGeneration(api.url, key, `replicas ${idempotencyKey}`, {
            'Idempotency-Key': idempotencyKey,
            'X-Forwarded-For': randomAddress(),
          }),
        );
        posts.push({ idempotencyKey, outcome });
        if (outcome.status === 202) lastId = idOf(outcome);
        return outcome;
      }
      const id = lastId;
      return withRetry((api) =>
        send(`${api.url}/api/v1/generations/${id}`, { headers: auth(key) }),
      );
    });

    await sleep(8000);
    // exact limits across the three replicas, under the load
    const ip = '203.0.113.77';
    const perIp = await Promise.all(
      Array.from({ length: PER_IP_LIMIT + 30 }, (_, index) =>
        send(`${apis[index % 3].url}/api/v1/me`, { headers: auth(key, ip) }),
      ),
    );
    const perIpCounts = summary(perIp);
    expect(perIpCounts['200']).toBe(PER_IP_LIMIT);
    expect((perIpCounts['429'] ?? 0) + (perIpCounts['403'] ?? 0)).toBe(30);
    const perKey = await Promise.all(
      Array.from({ length: 45 }, (_, index) =>
        send(`${apis[index % 3].url}/api/v1/me`, { headers: auth(limitedKey) }),
      ),
    );
    expect(summary(perKey)).toEqual({ '200': 20, '429': 25 });

    await sleep(8000);
    workers[1].proc.kill('SIGKILL');
    await sleep(12000);
    const leaving = apis[2];
    const leftWith = leaving.waitForExit(30000);
    leaving.proc.kill('SIGTERM');
    expect(await leftWith).toBe(0);
    ready.delete(leaving);
    apis.splice(2, 1);
    await sleep(30000);
    const outcomes = await load.stop();
    probing = false;
    await prober;

    // no answer a client would have to see: every POST 202 (or 200, its own retry replayed),
    // every read 200
    expect(outcomes.length).toBeGreaterThan(1000);
    expect(outcomes.filter((o) => o.networkError || ![200, 202].includes(o.status))).toEqual([]);

    // every accepted generation: exactly one record, succeeded — the killed worker's too
    const accepted = posts.map((p) => idOf(p.outcome));
    const distinct = [...new Set(accepted)];
    expect(distinct.length).toBe(posts.length);
    const records = await waitAllSucceeded(distinct, 90000);
    expect(records).toHaveLength(posts.length);
    expect(records.every((record) => record.result !== null)).toBe(true);

    // the survivors and the health: one worker left, listed
    await waitFor(
      async () => (await detailedWorkers()).length === 1,
      30000,
      'the killed worker to drop out of the detailed health',
    );
    expect(await detailedWorkers()).toEqual([workers[0].proc.pid]);

    process.stdout.write(
      `replicas: ${outcomes.length} requests ${JSON.stringify(summary(outcomes))}, ` +
        `${outcomes.filter((o) => o.retried).length} retried after a connection error, ` +
        `${posts.length} generations\n`,
    );
    expect(await Promise.all([...apis, workers[0]].map((p) => p.stop()))).toEqual([0, 0, 0]);
  });
});
