import { randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { KeyThrottlerStorage } from '@app/security';
import { ScriptCalls, countScriptCalls } from '../../../test/support/script-calls';
import { TEST_REDIS_URL } from '../../../test/support/test-env';

const MINUTE = 60_000;

/** The per-key counters against a real Redis: batched calls count exactly as one call each. */
describe('per-key counters (real Redis)', () => {
  let redis: Redis;
  let scripts: ScriptCalls;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL);
    scripts = countScriptCalls(redis);
  });
  beforeEach(() => {
    scripts.reset();
  });
  afterAll(async () => {
    await redis.quit();
  });

  it('counts 30 concurrent requests of one key in arrival order, in one script call', async () => {
    const storage = new KeyThrottlerStorage(redis);
    // the script's first call loads it (EVALSHA, NOSCRIPT, then EVAL): not counted here
    await storage.consume(randomUUID(), [{ name: 'key', limit: 10, ttlMs: MINUTE }]);
    scripts.reset();
    const tracker = randomUUID();
    const outcomes = await Promise.all(
      Array.from({ length: 30 }, () =>
        storage.consume(tracker, [{ name: 'key', limit: 10, ttlMs: MINUTE }]),
      ),
    );
    // all 30 arrived in one turn of the event loop: one call counted them
    expect(scripts.count).toBe(1);
    outcomes.forEach((outcome, index) => {
      if (index < 10) {
        expect(outcome.refusedBy).toBeUndefined();
        expect(outcome.counts[0].hits).toBe(index + 1);
      } else {
        expect(outcome.refusedBy?.name).toBe('key');
        expect(outcome.counts[0].hits).toBe(10);
      }
      expect(outcome.counts[0].resetMs).toBeGreaterThan(MINUTE - 5000);
      expect(outcome.counts[0].resetMs).toBeLessThanOrEqual(MINUTE);
    });
    expect(await redis.get(`rl:key:{${tracker}}:key`)).toBe('10');
    const ttl = await redis.pttl(`rl:key:{${tracker}}:key`);
    expect(ttl).toBeGreaterThan(MINUTE - 5000);
  });

  it("keeps arrival order across a key's calls that are in flight together", async () => {
    const storage = new KeyThrottlerStorage(redis);
    const tracker = randomUUID();
    const consume = () => storage.consume(tracker, [{ name: 'key', limit: 8, ttlMs: MINUTE }]);
    const first = Array.from({ length: 5 }, consume);
    // the next turn's requests go in their own call, without waiting for the first one's reply
    await new Promise((resolve) => setImmediate(resolve));
    const second = Array.from({ length: 5 }, consume);
    const outcomes = await Promise.all([...first, ...second]);
    expect(scripts.count).toBe(2);
    expect(outcomes.map((outcome) => outcome.counts[0].hits)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 8, 8,
    ]);
    expect(outcomes.map((outcome) => outcome.refusedBy === undefined)).toEqual([
      ...Array<boolean>(8).fill(true),
      false,
      false,
    ]);
    expect(await redis.get(`rl:key:{${tracker}}:key`)).toBe('8');
  });

  it('keeps all or nothing inside a batch: a refused request uses no budget of any policy', async () => {
    const storage = new KeyThrottlerStorage(redis);
    const tracker = randomUUID();
    const policies = [
      { name: 'key', limit: 5, ttlMs: MINUTE },
      { name: 'generations', limit: 3, ttlMs: MINUTE },
    ];
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => storage.consume(tracker, policies)),
    );
    expect(outcomes.map((outcome) => outcome.refusedBy?.name ?? 'admitted')).toEqual([
      'admitted',
      'admitted',
      'admitted',
      'generations',
      'generations',
      'generations',
    ]);
    expect(outcomes[2].counts.map((count) => count.hits)).toEqual([3, 3]);
    expect(await redis.mget(`rl:key:{${tracker}}:key`, `rl:key:{${tracker}}:generations`)).toEqual([
      '3',
      '3',
    ]);
    // a request of another route (other policies) is not in that batch, and sees the same count
    const read = await storage.consume(tracker, [policies[0]]);
    expect(read.refusedBy).toBeUndefined();
    expect(read.counts[0].hits).toBe(4);
  });

  it('counts in memory, still exactly, when Redis cannot answer', async () => {
    const away = new Redis({
      port: 1,
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    away.on('error', () => undefined);
    const storage = new KeyThrottlerStorage(away);
    const tracker = randomUUID();
    const outcomes = await Promise.all(
      Array.from({ length: 5 }, () =>
        storage.consume(tracker, [{ name: 'key', limit: 3, ttlMs: MINUTE }]),
      ),
    );
    expect(outcomes.map((outcome) => outcome.refusedBy === undefined)).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
    away.disconnect();
  });
});
