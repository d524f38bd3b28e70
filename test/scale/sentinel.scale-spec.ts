import { createApiKey } from '../support/api-keys';
import { sleep, startApi, startWorker } from '../support/processes';
import { RedisSentinelSet } from '../support/redis-topologies';
import {
  Load,
  Outcome,
  idOf,
  isAlive,
  postGeneration,
  send,
  summary,
  waitFor,
} from '../reliability/support';
import { scaleEnv } from './scale-env';
import { waitAllSucceeded } from './support';

describe('Redis Sentinel: the master SIGKILLed under load (1 master, 1 replica, 3 sentinels)', () => {
  let sentinels: RedisSentinelSet;

  beforeAll(async () => {
    sentinels = await RedisSentinelSet.start();
  });

  afterAll(async () => {
    await sentinels?.stop();
  });

  it('api and worker follow the promoted replica by themselves: no 500, no hang, nothing lost, limits and bans again', async () => {
    const env = scaleEnv({
      // nowhere useful: only the sentinels can lead the processes to Redis
      REDIS_URL: 'redis://redis.invalid:1',
      REDIS_SENTINELS: sentinels.sentinelList,
      REDIS_SENTINEL_NAME: RedisSentinelSet.MASTER_NAME,
      RATE_LIMIT_EXEMPT_IPS: '',
      TRUST_PROXY: 'loopback',
      AUTH_FAILURE_BAN_THRESHOLD: '3',
      LOCAL_PROVIDER_DELAY_MS: '20',
      // the reconciler's grace: max(10 s, twice the lock) — a job lost to the failover is
      // queued again within grace + one period
      QUEUE_LOCK_DURATION_MS: '5000',
      QUEUE_STALLED_INTERVAL_MS: '5000',
    });
    const key = await createApiKey(env, '--user', 'sentinel');
    const admin = await createApiKey(env, '--user', 'sentinel-ops', '--admin');
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    const auth = { Authorization: `Bearer ${key}` };

    const detailed = async () =>
      JSON.parse(
        (await send(`${api.url}/health/detailed`, { headers: { 'X-API-Key': admin } }, true))
          .body ?? '{}',
      ) as { details?: { redis?: { mode?: string; master?: string } } };
    await waitFor(
      async () => (await send(`${api.url}/health/ready`)).status === 200,
      20000,
      'ready',
    );
    const before = (await detailed()).details?.redis;
    expect(before?.mode).toBe('sentinel');
    expect(before?.master).toBe(sentinels.master.address);

    const posts: Outcome[] = [];
    const load = new Load(6, async (user) => {
      if (user % 2 === 0) {
        const outcome = await postGeneration(api.url, key, `sentinel ${user} ${Date.now()}`);
        posts.push(outcome);
        return outcome;
      }
      return send(`${api.url}/api/v1/me`, { headers: auth });
    });
    await sleep(2000);
    const killedAt = Date.now();
    await sentinels.killMaster();
    const promotedAfterMs = Date.now() - killedAt;
    await waitFor(
      async () => (await send(`${api.url}/health/ready`)).status === 200,
      30000,
      'readiness back after the failover',
    );
    const readyAfterMs = Date.now() - killedAt;
    await waitFor(
      async () => (await postGeneration(api.url, key, 'after the failover')).status === 202,
      30000,
      'POSTs accepted again',
    );
    await sleep(2000);
    const outcomes = await load.stop();

    // every POST answered 202 or 503, never a 500, never a hang (send's own timeout is 15 s)
    expect(posts.length).toBeGreaterThan(50);
    expect(posts.filter((o) => o.status !== 202 && o.status !== 503)).toEqual([]);
    expect(outcomes.filter((o) => o.status === 0 || o.status === 500)).toEqual([]);
    expect(posts.some((o) => o.status === 202 && o.at > killedAt + promotedAfterMs)).toBe(true);

    // every accepted generation ends succeeded, one record each (the reconciler re-queues a
    // job that the asynchronous replication lost)
    const accepted = posts.filter((o) => o.status === 202).map(idOf);
    const records = await waitAllSucceeded(accepted, 90000);
    expect(new Set(records.map((r) => r.id)).size).toBe(accepted.length);
    expect(records.every((r) => typeof r.result === 'string' && r.result.length > 0)).toBe(true);

    // the health now names the promoted master; neither process restarted
    expect((await detailed()).details?.redis?.master).toBe(sentinels.replica.address);
    expect(isAlive(api) && isAlive(worker)).toBe(true);

    // limits are shared in Redis again: a key limited to 4 per minute gets exactly 4
    const limited = await createApiKey(env, '--user', 'sentinel-limited', '--rate-limit', '4');
    const answers = await Promise.all(
      Array.from({ length: 7 }, () =>
        send(`${api.url}/api/v1/me`, { headers: { Authorization: `Bearer ${limited}` } }),
      ),
    );
    expect(summary(answers)).toEqual({ '200': 4, '429': 3 });
    // and bans apply: three failed authentications, then the address is banned
    const attacker = { 'X-Forwarded-For': '203.0.113.9', Authorization: 'Bearer rl_wrong' };
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect((await send(`${api.url}/api/v1/me`, { headers: attacker })).status).toBe(401);
    }
    const banned = await send(`${api.url}/api/v1/me`, {
      headers: { ...attacker, Authorization: `Bearer ${key}` },
    });
    expect(banned.status).toBe(403);
    const bannedKeys = (await sentinels.replica.command('KEYS', 'rl:ban:*')) as string[];
    expect(bannedKeys).toEqual(['rl:ban:{203.0.113.9}']);

    process.stdout.write(
      `sentinel failover: promoted after ${promotedAfterMs} ms, ready after ${readyAfterMs} ms; ` +
        `POSTs ${JSON.stringify(summary(posts))}, all ${JSON.stringify(summary(outcomes))}\n`,
    );
    expect(await Promise.all([api.stop(), worker.stop()])).toEqual([0, 0]);
  });
});
