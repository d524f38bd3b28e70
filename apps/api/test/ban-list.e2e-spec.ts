import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import type { AppConfig } from '@app/config';
import { BanList } from '@app/security';
import { ScriptCalls, countScriptCalls } from '../../../test/support/script-calls';
import { TEST_REDIS_URL } from '../../../test/support/test-env';

/** The per-IP request check against a real Redis: a client's batched calls count exactly. */
describe('per-IP request checks (real Redis)', () => {
  let redis: Redis;
  let scripts: ScriptCalls;
  let next = 0;
  /** A fresh documentation address per test (TEST-NET-3), so counters never meet. */
  const freshIp = () => `203.0.113.${(next++ % 250) + 1}`;
  const config = {
    rateLimit: {
      perMinute: 10,
      exemptIps: [],
      banThreshold: 1000,
      banWindowSeconds: 60,
      banSeconds: 60,
      authFailureBanThreshold: 1000,
      ipv6Prefix: 64,
    },
  } as unknown as AppConfig;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
    scripts = countScriptCalls(redis);
  });
  beforeEach(async () => {
    const bans = new BanList(redis, config);
    // the script's first call loads it (EVALSHA, NOSCRIPT, then EVAL): not counted here
    await bans.checkRequest('198.51.100.1', false);
    scripts.reset();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('counts 30 concurrent requests of one client in arrival order, in one script call', async () => {
    const bans = new BanList(redis, config);
    const ip = freshIp();
    await bans.unban(ip);
    scripts.reset();
    const checks = await Promise.all(Array.from({ length: 30 }, () => bans.checkRequest(ip, true)));
    expect(scripts.count).toBe(1);
    checks.forEach((check, index) => {
      expect(check.banMs).toBe(0);
      expect(check.count?.result.consumedPoints).toBe(index + 1);
      expect(check.count?.over).toBe(index >= 10);
      expect(check.count?.result.remainingPoints).toBe(Math.max(0, 10 - index - 1));
      expect(check.count?.result.msBeforeNext).toBeGreaterThan(55_000);
      expect(check.count?.result.isFirstInDuration).toBe(index === 0);
    });
    expect(await redis.get(`rl:req:{${ip}}`)).toBe('30');
  });

  it("keeps arrival order across a client's calls in flight together, and skips uncounted requests", async () => {
    const bans = new BanList(redis, config);
    const ip = freshIp();
    await bans.unban(ip);
    scripts.reset();
    const first = [true, false, true].map((counted) => bans.checkRequest(ip, counted));
    // the next turn's requests go in their own call, without waiting for the first one's reply
    await new Promise((resolve) => setImmediate(resolve));
    const second = [true, true].map((counted) => bans.checkRequest(ip, counted));
    const checks = await Promise.all([...first, ...second]);
    expect(scripts.count).toBe(2);
    expect(checks.map((check) => check.count?.result.consumedPoints)).toEqual([
      1,
      undefined,
      2,
      3,
      4,
    ]);
    expect(await redis.get(`rl:req:{${ip}}`)).toBe('4');
  });

  it('gives every request of a banned client its ban, and counts none of them', async () => {
    const bans = new BanList(redis, config);
    const ip = freshIp();
    await bans.ban(ip, 'test');
    scripts.reset();
    const checks = await Promise.all(
      [true, false, true].map((counted) => bans.checkRequest(ip, counted)),
    );
    expect(scripts.count).toBe(1);
    for (const check of checks) {
      expect(check.banMs).toBeGreaterThan(55_000);
      expect(check.count).toBeUndefined();
    }
    expect(await redis.get(`rl:req:{${ip}}`)).toBeNull();
    await bans.unban(ip);
  });

  it('checks different clients in calls of their own', async () => {
    const bans = new BanList(redis, config);
    const ips = [freshIp(), freshIp()];
    await Promise.all(ips.map((ip) => bans.unban(ip)));
    scripts.reset();
    const checks = await Promise.all(
      [0, 1, 0, 1, 0].map((which) => bans.checkRequest(ips[which], true)),
    );
    expect(scripts.count).toBe(2);
    expect(checks.map((check) => check.count?.result.consumedPoints)).toEqual([1, 1, 2, 2, 3]);
  });

  it("counts a request's key with its client in the same call, all or nothing, exactly as the per-key guard would", async () => {
    const bans = new BanList(redis, config);
    const ip = freshIp();
    await bans.unban(ip);
    const [a, b] = [randomUUID(), randomUUID()];
    const keyA = { keyId: a, counter: `rl:key:{${a}}:key`, limit: 3 };
    const keyB = { keyId: b, counter: `rl:key:{${b}}:key`, limit: 5 };
    // key A already took one request through the guard's own script (the same counter)
    await redis.set(keyA.counter, '1', 'PX', 60_000);
    scripts.reset();
    // 12 requests of one client (limit 10): A, B, none, A, A (refused by A's 3), B … the last
    // two refused per IP, so their keys are not counted
    const plan = [keyA, keyB, undefined, keyA, keyA, keyB, keyB, undefined, keyB, keyB, keyA, keyB];
    const checks = await Promise.all(plan.map((key) => bans.checkRequest(ip, true, key)));
    expect(scripts.count).toBe(1);
    expect(checks.map((check) => check.count?.over)).toEqual([
      ...Array<boolean>(10).fill(false),
      true,
      true,
    ]);
    const keyed = checks.map((check) =>
      check.key
        ? `${check.key.refusedBy ? 'refused' : 'counted'} ${check.key.counts[0].hits}`
        : undefined,
    );
    expect(keyed).toEqual([
      'counted 2',
      'counted 1',
      undefined,
      'counted 3',
      'refused 3',
      'counted 2',
      'counted 3',
      undefined,
      'counted 4',
      'counted 5',
      undefined,
      undefined,
    ]);
    expect(checks[0].key?.counts[0]).toMatchObject({ name: 'key', limit: 3, ttlMs: 60_000 });
    expect(checks[0].key?.counts[0].resetMs).toBeGreaterThan(55_000);
    // a counter that had no window gets the policy's
    expect(checks[1].key?.counts[0].resetMs).toBe(60_000);
    expect(await redis.get(keyA.counter)).toBe('3');
    expect(await redis.get(keyB.counter)).toBe('5');
    expect(await redis.pttl(keyB.counter)).toBeGreaterThan(55_000);
    expect(await redis.get(`rl:req:{${ip}}`)).toBe('12');
  });

  it('counts no key of a banned client, nor of a request that is not counted', async () => {
    const bans = new BanList(redis, config);
    const [banned, scraper] = [freshIp(), freshIp()];
    await bans.unban(scraper);
    await bans.ban(banned, 'test');
    const id = randomUUID();
    const key = { keyId: id, counter: `rl:key:{${id}}:key`, limit: 5 };
    const checks = await Promise.all([
      bans.checkRequest(banned, true, key),
      bans.checkRequest(scraper, false, key),
    ]);
    expect(checks[0].banMs).toBeGreaterThan(55_000);
    expect(checks.map((check) => check.key)).toEqual([undefined, undefined]);
    expect(await redis.get(key.counter)).toBeNull();
    await bans.unban(banned);
  });

  it('rejects every request of a call when Redis cannot answer (the middleware counts in memory)', async () => {
    // never connected, no offline queue: every command fails at once, as in an outage
    const broken = new Redis(TEST_REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    broken.on('error', () => undefined);
    const bans = new BanList(broken, config);
    const results = await Promise.allSettled(
      Array.from({ length: 3 }, () => bans.checkRequest(freshIp(), true)),
    );
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    broken.disconnect();
  });
});
