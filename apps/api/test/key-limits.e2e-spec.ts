import { GenerationStore, KeyUsage, Generation, secondsToNextUtcDay } from '@app/generations';
import { request } from 'node:http';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { createApiKey } from '../../../test/support/api-keys';
import { readLog, waitForLog } from '../../../test/support/log-files';
import { PrivateRedis } from '../../../test/support/private-redis';
import {
  CLI_MAIN,
  RunningProcess,
  runToExit,
  sleep,
  startApi,
  startWorker,
} from '../../../test/support/processes';
import { parseMetrics, valueOf } from '../../../test/support/prometheus';
import { TEST_DATABASE_URL, testEnv } from '../../../test/support/test-env';

type Api = RunningProcess & { url: string };
type Answer = { status: number; headers: Headers; body: Record<string, unknown> };

const KEY_LIMIT = 10;
const EXEMPT_IP = '198.51.100.7';

let ipCounter = 10;
/** Each test plays its own client address (the api trusts loopback proxies). */
function nextIp(): string {
  ipCounter += 1;
  return `203.0.113.${ipCounter}`;
}

async function until<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 20000,
): Promise<T> {
  const giveUpAt = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting; last: ${JSON.stringify(value)}`);
    await sleep(100);
  }
}

/**
 * The per-key layer from outside: two api replicas on one (private) Redis, keys made with the
 * real CLI, a worker only where generations must run.
 */
describe('per-key limits and quotas (two api replicas, one Redis)', () => {
  let redis: PrivateRedis;
  let env: NodeJS.ProcessEnv;
  let apis: Api[];
  const workers: RunningProcess[] = [];

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    env = testEnv({
      REDIS_URL: redis.url,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_EXEMPT_IPS: EXEMPT_IP,
      RATE_LIMIT_PER_MINUTE: '1000',
      // a key-layer 429 must never count toward a ban: a low threshold would show it at once
      RATE_LIMIT_BAN_THRESHOLD: '3',
      KEY_RATE_LIMIT_PER_MINUTE: String(KEY_LIMIT),
      GENERATIONS_PER_MINUTE: '100',
      API_KEY_CACHE_SECONDS: '1',
      QUEUE_LOCK_DURATION_MS: '1000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    });
    apis = await Promise.all([startApi(env), startApi(env)]);
  });
  afterAll(async () => {
    await Promise.all([...apis, ...workers].map((process) => process.stop()));
    await redis.down();
  });

  const key = (...args: string[]) => createApiKey(env, '--user', 'limits', ...args);
  const send = async (
    replica: number,
    path: string,
    apiKey: string,
    ip: string,
    init: RequestInit = {},
  ): Promise<Answer> => {
    const response = await fetch(`${apis[replica % apis.length].url}${path}`, {
      ...init,
      headers: {
        Authorization: `Bearer ${apiKey}`,
        'X-Forwarded-For': ip,
        'Content-Type': 'application/json',
        ...(init.headers as Record<string, string>),
      },
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : {},
    };
  };
  const post = (
    replica: number,
    apiKey: string,
    ip: string,
    headers: Record<string, string> = {},
  ) =>
    send(replica, '/api/v1/generations', apiKey, ip, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'one two three four five', maxTokens: 2 }),
      headers,
    });
  const statuses = (answers: Answer[]) =>
    answers.reduce<Record<string, number>>((count, { status, body }) => {
      const label = body.code ? `${status} ${String(body.code)}` : String(status);
      count[label] = (count[label] ?? 0) + 1;
      return count;
    }, {});

  it('admits exactly the key limit from 3N concurrent requests over both replicas; other keys and the IP are unaffected', async () => {
    const ip = nextIp();
    const [busy, other] = await Promise.all([key(), key()]);
    const answers = await Promise.all([
      ...Array.from({ length: 3 * KEY_LIMIT }, (_, i) => send(i, '/api/v1/me', busy, ip)),
      ...Array.from({ length: 5 }, (_, i) => send(i, '/api/v1/me', other, ip)),
    ]);
    expect(statuses(answers.slice(0, 3 * KEY_LIMIT))).toEqual({
      '200': KEY_LIMIT,
      '429 RATE_LIMITED': 2 * KEY_LIMIT,
    });
    // the same address with a second key: a budget of its own
    expect(statuses(answers.slice(3 * KEY_LIMIT))).toEqual({ '200': 5 });
    const refused = answers.find((answer) => answer.status === 429) as Answer;
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+, "key";r=0;t=\d+$/);
    expect(JSON.stringify(refused.body)).not.toMatch(/Throttl|stack/);
    // twenty 429s of the key layer from one address, ban threshold 3: no ban
    expect((await send(0, '/api/v1/me', other, ip)).status).toBe(200);
    const [event] = await waitForLog(
      String(env.LOG_DIR),
      'api',
      'security',
      (line) => line.event === 'rate_limited' && line.policy === 'key',
    );
    expect(event).toMatchObject({ keyId: expect.any(String), limit: KEY_LIMIT });
    expect(readLog(String(env.LOG_DIR), 'api', 'security').map((l) => l.event)).not.toContain(
      'ip_banned',
    );
  });

  it("limits an exempt address's key all the same, with only the key policies in its headers", async () => {
    const exempt = await key();
    const answers: Answer[] = [];
    for (let i = 0; i <= KEY_LIMIT; i += 1)
      answers.push(await send(i, '/api/v1/me', exempt, EXEMPT_IP));
    expect(answers[0].headers.get('ratelimit-policy')).toBe(`"key";q=${KEY_LIMIT};w=60`);
    expect(answers[0].headers.get('ratelimit')).toMatch(
      new RegExp(`^"key";r=${KEY_LIMIT - 1};t=(60|59)$`),
    );
    expect(statuses(answers)).toEqual({ '200': KEY_LIMIT, '429 RATE_LIMITED': 1 });
  });

  it('counts generations on POST only, and one key budget across every route, with exact headers', async () => {
    const ip = nextIp();
    const apiKey = await key('--rate-limit', '8', '--generations-per-minute', '3');
    const first = await post(0, apiKey, ip);
    expect(first.status).toBe(202);
    expect(first.headers.get('ratelimit-policy')).toBe(
      '"default";q=1000;w=60, "key";q=8;w=60, "generations";q=3;w=60',
    );
    expect(first.headers.get('ratelimit')).toMatch(
      /^"default";r=999;t=(60|59), "key";r=7;t=(60|59), "generations";r=2;t=(60|59)$/,
    );
    // a GET of the same key: counted by `key`, not by `generations`
    const read = await send(1, '/api/v1/generations', apiKey, ip);
    expect(read.status).toBe(200);
    expect(read.headers.get('ratelimit-policy')).toBe('"default";q=1000;w=60, "key";q=8;w=60');
    expect(read.headers.get('ratelimit')).toMatch(/^"default";r=998;t=\d+, "key";r=6;t=\d+$/);
    expect((await post(1, apiKey, ip)).status).toBe(202);
    expect((await post(0, apiKey, ip)).status).toBe(202);
    const limited = await post(1, apiKey, ip);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    expect(String(limited.body.detail)).toContain('"generations"');
    expect(limited.headers.get('ratelimit')).toMatch(
      /^"default";r=995;t=\d+, "key";r=4;t=\d+, "generations";r=0;t=\d+$/,
    );
    // the refused POST used no budget: four reads are left, then `key` refuses
    for (let i = 0; i < 4; i += 1)
      expect((await send(i, `/api/v1/generations`, apiKey, ip)).status).toBe(200);
    const exhausted = await send(0, '/api/v1/me', apiKey, ip);
    expect(exhausted.status).toBe(429);
    expect(exhausted.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+, "key";r=0;t=\d+$/);
    const metrics = parseMetrics(await (await fetch(`${apis[1].url}/metrics`)).text());
    expect(
      valueOf(metrics.samples, 'key_limit_refusals_total', { policy: 'generations' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('applies a limit changed with apikey:update within API_KEY_CACHE_SECONDS; none restores the default, 0 switches it off', async () => {
    const ip = nextIp();
    const apiKey = await key();
    const policy = async () =>
      (await send(0, '/api/v1/me', apiKey, ip)).headers.get('ratelimit-policy');
    expect(await policy()).toContain(`"key";q=${KEY_LIMIT};w=60`);
    const prefix = apiKey.split('_').slice(0, 2).join('_');
    const updated = await runToExit(
      CLI_MAIN,
      ['apikey:update', prefix, '--rate-limit', '500'],
      env,
    );
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain('rate limit 500/min');
    await until(policy, (value) => value?.includes('"key";q=500;w=60') ?? false, 5000);
    const list = await runToExit(CLI_MAIN, ['apikey:list'], env);
    expect(list.stdout.split('\n').find((line) => line.includes(prefix))).toMatch(
      /\t500\tdefault \(100\)\tdefault \(20\)\tdefault \(0\)$/,
    );
    expect(
      (await runToExit(CLI_MAIN, ['apikey:update', prefix, '--rate-limit', 'none'], env)).code,
    ).toBe(0);
    await until(policy, (value) => value?.includes(`"key";q=${KEY_LIMIT};w=60`) ?? false, 5000);
    // 0 switches the key's per-minute limit off: only the per-IP policy is left
    expect(
      (await runToExit(CLI_MAIN, ['apikey:update', prefix, '--rate-limit', '0'], env)).code,
    ).toBe(0);
    await until(policy, (value) => value === '"default";q=1000;w=60', 5000);
    const bad = await runToExit(CLI_MAIN, ['apikey:update', prefix, '--max-active', '0'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^Error running apikey:update: --max-active must be a whole number/);
  });

  it('admits exactly the active cap from 20 concurrent POSTs; a replay at the cap is 200; a cancel frees a slot', async () => {
    const ip = nextIp();
    const apiKey = await key('--max-active', '5', '--rate-limit', '100');
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => post(i, apiKey, ip, { 'Idempotency-Key': `cap-${i}` })),
    );
    expect(statuses(answers)).toEqual({ '202': 5, '429 QUOTA_EXCEEDED': 15 });
    const refused = answers.find((answer) => answer.status === 429) as Answer;
    expect(String(refused.body.detail)).toMatch(/limit of 5 at once/);
    expect(refused.headers.get('retry-after')).toBeNull();
    // a refusal that is not the per-IP limiter's: no ban
    expect((await send(0, '/api/v1/me', apiKey, ip)).status).toBe(200);
    const accepted = answers
      .map((answer, i) => ({ answer, i }))
      .filter(({ answer }) => answer.status === 202);
    const replay = await post(1, apiKey, ip, { 'Idempotency-Key': `cap-${accepted[0].i}` });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await post(0, apiKey, ip)).status).toBe(429);
    const cancelled = await send(
      1,
      `/api/v1/generations/${String(accepted[0].answer.body.id)}`,
      apiKey,
      ip,
      {
        method: 'DELETE',
      },
    );
    expect(cancelled.status).toBe(200);
    expect((await post(0, apiKey, ip)).status).toBe(202);
    expect((await post(1, apiKey, ip)).body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
  });

  it('answers an idempotent replay before the generations throttler, and counts it there not at all', async () => {
    const ip = nextIp();
    const apiKey = await key('--generations-per-minute', '2');
    expect((await post(0, apiKey, ip, { 'Idempotency-Key': 'replay-a' })).status).toBe(202);
    expect((await post(1, apiKey, ip, { 'Idempotency-Key': 'replay-b' })).status).toBe(202);
    const replay = await post(0, apiKey, ip, { 'Idempotency-Key': 'replay-a' });
    expect(replay.status).toBe(200);
    expect(replay.headers.get('ratelimit-policy')).toBe(
      `"default";q=1000;w=60, "key";q=${KEY_LIMIT};w=60`,
    );
    const fresh = await post(1, apiKey, ip, { 'Idempotency-Key': 'replay-c' });
    expect(fresh.status).toBe(429);
    expect(fresh.headers.get('ratelimit')).toMatch(/"generations";r=0;t=\d+$/);
  });

  it('frees the slot of a worker SIGKILLed mid-job once the generation ends', async () => {
    const ip = nextIp();
    const apiKey = await key('--max-active', '1', '--rate-limit', '1000');
    // earlier tests left generations queued: this worker takes them all at once
    const slow = await startWorker({
      ...env,
      LOCAL_PROVIDER_DELAY_MS: '30000',
      WORKER_CONCURRENCY: '50',
    });
    const accepted = await post(0, apiKey, ip);
    expect(accepted.status).toBe(202);
    const id = String(accepted.body.id);
    const statusOf = async () =>
      String((await send(1, `/api/v1/generations/${id}`, apiKey, ip)).body.status);
    await until(statusOf, (status) => status === 'running');
    slow.proc.kill('SIGKILL');
    await new Promise((resolve) => slow.proc.once('exit', resolve));
    expect((await post(1, apiKey, ip)).body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    workers.push(await startWorker(env));
    await until(statusOf, (status) => status === 'succeeded', 30000);
    expect((await post(0, apiKey, ip)).status).toBe(202);
  });

  it("refuses a key that spent the day's tokens until midnight UTC; usage shows them exactly and outlives retention", async () => {
    if (workers.length === 0) workers.push(await startWorker(env));
    const ip = nextIp();
    // each generation: a 5-word prompt and "[local-dev-echo] w1 w2" (3 tokens) = 8 tokens
    const [spender, other] = await Promise.all([
      key('--daily-tokens', '10', '--rate-limit', '1000'),
      key('--daily-tokens', '10'),
    ]);
    for (let i = 0; i < 2; i += 1) {
      const accepted = await post(i, spender, ip);
      expect(accepted.status).toBe(202);
      await until(
        async () =>
          (await send(i, `/api/v1/generations/${String(accepted.body.id)}`, spender, ip)).body
            .status,
        (status) => status === 'succeeded',
      );
    }
    const refused = await post(0, spender, ip);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(String(refused.body.detail)).toMatch(/daily budget of 10 tokens \(16 used today\)/);
    expect(
      Math.abs(Number(refused.headers.get('retry-after')) - secondsToNextUtcDay()),
    ).toBeLessThanOrEqual(5);
    expect((await post(1, other, ip)).status).toBe(202);

    const today = new Date().toISOString().slice(0, 10);
    const usage = await send(1, `/api/v1/usage?from=${today}&to=${today}`, spender, ip);
    expect(usage.status).toBe(200);
    expect(usage.body).toEqual({
      limits: {
        requestsPerMinute: 1000,
        generationsPerMinute: 100,
        maxActive: 20,
        dailyTokens: 10,
      },
      days: [
        {
          date: today,
          generations: 2,
          succeeded: 2,
          failed: 0,
          cancelled: 0,
          promptTokens: 10,
          completionTokens: 6,
        },
      ],
    });
    const week = await send(0, '/api/v1/usage', spender, ip);
    expect((week.body.days as unknown[]).length).toBe(7);

    // retention deletes the finished generations: their day keeps its usage
    const dataSource = await new DataSource({
      type: 'postgres',
      url: TEST_DATABASE_URL,
      entities: [Generation, KeyUsage],
    }).initialize();
    try {
      const me = (await send(0, '/api/v1/me', spender, ip)).body;
      await dataSource.query(
        `UPDATE generations SET completed_at = now() - interval '40 days' WHERE api_key_id = $1`,
        [me.keyId],
      );
      await new GenerationStore(dataSource).deleteFinishedBefore(
        new Date(Date.now() - 30 * 86_400_000),
      );
      expect(
        await dataSource.query('SELECT count(*)::int AS n FROM generations WHERE api_key_id = $1', [
          me.keyId,
        ]),
      ).toEqual([{ n: 0 }]);
    } finally {
      await dataSource.destroy();
    }
    const after = await send(1, `/api/v1/usage?from=${today}&to=${today}`, spender, ip);
    expect(after.body.days).toEqual(usage.body.days);
  });

  it('refuses a usage range that is reversed, too long or not a date', async () => {
    const ip = nextIp();
    const apiKey = await key();
    for (const query of [
      'from=2026-12-02&to=2026-12-01',
      'from=2026-01-01&to=2026-12-01',
      'from=2026-02-30',
      'to=yesterday',
    ]) {
      const answer = await send(0, `/api/v1/usage?${query}`, apiKey, ip);
      expect({ query, status: answer.status, code: answer.body.code }).toEqual({
        query,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
  });

  describe('reads of a cached key: counted with their address', () => {
    // the suite's replicas forget a key after a second: this one keeps it for 30 s
    let cached: Api;
    beforeAll(async () => {
      cached = await startApi({ ...env, API_KEY_CACHE_SECONDS: '30' });
    });
    afterAll(async () => {
      await cached.stop();
    });
    const read = async (apiKey: string, ip: string, path = '/api/v1/me') => {
      const response = await fetch(`${cached.url}${path}`, {
        headers: { Authorization: `Bearer ${apiKey}`, 'X-Forwarded-For': ip },
      });
      return { status: response.status, key: response.headers.get('ratelimit')?.split(', ')[1] };
    };
    const keyLeft = (r: number) => ({
      status: 200,
      key: expect.stringMatching(new RegExp(`^"key";r=${r};t=(60|59)$`)) as string,
    });

    it("counts an authenticated read's key in its address's own script call", async () => {
      const ip = nextIp();
      const apiKey = await key();
      // the first read: the guard counts it (the key is not cached yet)
      expect(await read(apiKey, ip)).toEqual(keyLeft(9));
      const calls: string[][] = [];
      const monitor = new Redis(redis.url);
      const feed = await monitor.monitor();
      try {
        feed.on('monitor', (_time: string, args: string[]) => {
          if (args[0]?.toLowerCase() === 'evalsha') calls.push(args);
        });
        for (const left of [8, 7, 6, 5, 4]) expect(await read(apiKey, ip)).toEqual(keyLeft(left));
        await sleep(200);
      } finally {
        feed.disconnect();
        monitor.disconnect();
      }
      // five reads, five script calls that counted the key: each the address's own
      const counted = calls.filter((args) => args.some((arg) => /^rl:key:\{.+\}:key$/.test(arg)));
      expect(counted).toHaveLength(5);
      for (const args of counted) expect(args).toContain(`rl:req:{${ip}}`);
    });

    it('takes nothing of its budget for a read its address is refused (banned), nor for an unknown route', async () => {
      const [banned, other] = [nextIp(), nextIp()];
      const apiKey = await key();
      // wrong keys from one address until it is banned (AUTH_FAILURE_BAN_THRESHOLD, 20)
      for (let i = 0; i < 20; i += 1) await read('rl_00000000_wrong', banned);
      expect(await read(apiKey, other)).toEqual(keyLeft(9));
      const refused = await Promise.all(Array.from({ length: 4 }, () => read(apiKey, banned)));
      expect(refused.map(({ status }) => status)).toEqual([403, 403, 403, 403]);
      expect((await read(apiKey, other, '/api/v1/nothing-here')).status).toBe(404);
      expect(await read(apiKey, other)).toEqual(keyLeft(8));
    });

    it('takes nothing of its budget for a read refused before the guard: a body the parser refuses, an Expect', async () => {
      const ip = nextIp();
      const apiKey = await key();
      expect(await read(apiKey, ip)).toEqual(keyLeft(9));
      const raw = (headers: Record<string, string>, body?: string) =>
        new Promise<number>((resolve, reject) => {
          const sent = request(
            `${cached.url}/api/v1/me`,
            { headers: { Authorization: `Bearer ${apiKey}`, 'X-Forwarded-For': ip, ...headers } },
            (answer) => {
              answer.resume();
              resolve(answer.statusCode ?? 0);
            },
          );
          sent.on('error', reject);
          sent.end(body);
        });
      expect(await raw({ 'Content-Type': 'application/json', 'Content-Length': '1' }, '{')).toBe(
        400,
      );
      expect(await raw({ Expect: 'nothing-known' })).toBe(417);
      expect(await read(apiKey, ip)).toEqual(keyLeft(8));
    });
  });

  it('limits a key per process while Redis is down, never a 5xx, and shares counts again when it is back', async () => {
    const ip = nextIp();
    const apiKey = await key('--rate-limit', '4');
    await redis.down();
    try {
      const down = [];
      for (let i = 0; i < 6; i += 1) down.push(await send(0, '/api/v1/me', apiKey, ip));
      expect(statuses(down)).toEqual({ '200': 4, '429 RATE_LIMITED': 2 });
    } finally {
      await redis.up();
    }
    // both replicas reconnect, then one shared count again (the new Redis starts empty)
    await until(
      async () =>
        (await send(1, '/api/v1/me', await key(), nextIp())).headers.get('ratelimit') ?? '',
      (value) => value.startsWith('"default"'),
      20000,
    );
    await until(
      async () =>
        (await send(0, '/api/v1/me', await key(), nextIp())).headers.get('ratelimit') ?? '',
      (value) => value.startsWith('"default"'),
      20000,
    );
    const shared = await key('--rate-limit', '4');
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => send(i, '/api/v1/me', shared, ip)),
    );
    expect(statuses(answers)).toEqual({ '200': 4, '429 RATE_LIMITED': 4 });
  });
});
