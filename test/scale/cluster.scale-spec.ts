import Redis from 'ioredis';
import { createApiKey } from '../support/api-keys';
import { runToExit, CLI_MAIN, startApi, startWorker } from '../support/processes';
import { RedisClusterSet } from '../support/redis-topologies';
import { idOf, postGeneration, send, summary, waitFor } from '../reliability/support';
import { scaleEnv } from './scale-env';
import { waitAllSucceeded } from './support';

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('Redis Cluster (3 masters): api ×2 and a worker in Cluster mode', () => {
  let cluster: RedisClusterSet;

  beforeAll(async () => {
    cluster = await RedisClusterSet.start();
  });

  afterAll(async () => {
    await cluster?.stop();
  });

  it('refuses a db other than 0 at start-up, with one line naming the variable', async () => {
    const result = await runToExit(
      CLI_MAIN,
      ['apikey:list'],
      scaleEnv({ REDIS_URL: 'redis://127.0.0.1:6379/2', REDIS_CLUSTER_NODES: cluster.nodeList }),
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('REDIS_URL must name database 0 or none in Cluster mode');
  });

  it('runs generations, limits and bans exactly across the replicas, heartbeats and Bull Board', async () => {
    const env = scaleEnv({
      REDIS_URL: 'redis://redis.invalid:1',
      REDIS_CLUSTER_NODES: cluster.nodeList,
      RATE_LIMIT_EXEMPT_IPS: '',
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_PER_MINUTE: '30',
      RATE_LIMIT_BAN_THRESHOLD: '3',
      BULL_BOARD_USERNAME: 'ops',
      BULL_BOARD_PASSWORD: 'cluster-dashboard-0123',
    });
    const key = await createApiKey(env, '--user', 'cluster');
    const limited = await createApiKey(env, '--user', 'cluster-limited', '--rate-limit', '6');
    const admin = await createApiKey(env, '--user', 'cluster-ops', '--admin');
    const [first, second, worker] = await Promise.all([
      startApi(env),
      startApi(env),
      startWorker(env),
    ]);
    const apis = [first, second];
    try {
      for (const api of apis) {
        await waitFor(
          async () => (await send(`${api.url}/health/ready`)).status === 200,
          20000,
          'ready',
        );
      }

      // generations flow, POSTed to both replicas (each client its own address)
      const posts = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          postGeneration(apis[index % 2].url, key, `cluster ${index}`, {
            'X-Forwarded-For': `198.51.100.${index + 1}`,
          }),
        ),
      );
      expect(summary(posts)).toEqual({ '202': 40 });
      await waitAllSucceeded(posts.map(idOf), 30000);

      // Bull's keys carry one hash tag per queue: every key of the queue on one slot
      const nodes = cluster.masters.map((server) => new Redis(server.port, '127.0.0.1'));
      try {
        const keys = (await Promise.all(nodes.map((node) => node.keys('bull:*')))).flat();
        expect(keys.length).toBeGreaterThan(0);
        const slots = new Map<string, Set<number>>();
        for (const key of keys) {
          const queue = /^bull:\{([a-z-]+)\}:\1:/.exec(key)?.[1];
          expect([key, queue]).toEqual([
            key,
            expect.stringMatching(/^(generations(-retention)?|webhooks)$/),
          ]);
          const slot = Number(await nodes[0].cluster('KEYSLOT', key));
          slots.set(queue as string, (slots.get(queue as string) ?? new Set()).add(slot));
        }
        // each queue that has keys yet (its worker's stalled check, its jobs) on one slot
        expect(slots.size).toBeGreaterThanOrEqual(2);
        expect([...slots.values()].every((set) => set.size === 1)).toBe(true);
      } finally {
        nodes.forEach((node) => node.disconnect());
      }

      // per-key limit exact across the two replicas: 6 of 12
      const keyed = await Promise.all(
        Array.from({ length: 12 }, (_, index) =>
          send(`${apis[index % 2].url}/api/v1/me`, {
            headers: {
              Authorization: `Bearer ${limited}`,
              'X-Forwarded-For': `192.0.2.${index + 1}`,
            },
          }),
        ),
      );
      expect(summary(keyed)).toEqual({ '200': 6, '429': 6 });

      // per-IP limit exact across the two replicas: 30 of 40, then the 429s ban the address
      const ip = '203.0.113.50';
      const perIp = await Promise.all(
        Array.from({ length: 40 }, (_, index) =>
          send(`${apis[index % 2].url}/api/v1/me`, {
            headers: { 'X-Forwarded-For': ip, Authorization: `Bearer ${key}` },
          }),
        ),
      );
      const counts = summary(perIp);
      expect(counts['200']).toBe(30);
      expect((counts['429'] ?? 0) + (counts['403'] ?? 0)).toBe(10);
      for (const api of apis) {
        const banned = await send(`${api.url}/api/v1/me`, {
          headers: { 'X-Forwarded-For': ip, Authorization: `Bearer ${key}` },
        });
        expect(banned.status).toBe(403);
      }

      // the detailed health: Cluster mode, its nodes, the worker's heartbeat
      const detailed = JSON.parse(
        (
          await send(
            `${first.url}/health/detailed`,
            { headers: { 'X-API-Key': admin, 'X-Forwarded-For': '192.0.2.200' } },
            true,
          )
        ).body ?? '{}',
      ) as {
        details: {
          redis: { mode: string; clusterState: string; nodes: Array<{ address: string }> };
          workers: { workers: Array<{ pid: number }> };
        };
      };
      expect(detailed.details.redis.mode).toBe('cluster');
      expect(detailed.details.redis.clusterState).toBe('ok');
      expect(detailed.details.redis.nodes.map((n) => n.address).sort()).toEqual(
        cluster.masters.map((server) => server.address).sort(),
      );
      expect(detailed.details.workers.workers.map((w) => w.pid)).toContain(worker.proc.pid);

      // Bull Board lists the queues
      const board = await fetch(`${second.url}/admin/queues/api/queues`, {
        headers: { Authorization: basic('ops', 'cluster-dashboard-0123') },
      });
      expect(board.status).toBe(200);
      const queues = (await board.json()) as {
        queues: Array<{ name: string; counts: Record<string, number> }>;
      };
      expect(queues.queues.map((q) => q.name)).toEqual([
        'generations',
        'generations-retention',
        'webhooks',
      ]);
      expect(queues.queues[0].counts.completed).toBeGreaterThanOrEqual(40);

      // and all of it in Redis: no process ever fell back to counting in memory
      for (const api of apis) {
        expect(api.lines().filter((l) => l.event === 'security_backend_unavailable')).toEqual([]);
        expect(api.stdout()).not.toContain('fall back to memory');
      }
    } finally {
      expect(await Promise.all([first.stop(), second.stop(), worker.stop()])).toEqual([0, 0, 0]);
    }
  });
});
