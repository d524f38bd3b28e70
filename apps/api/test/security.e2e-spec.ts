import Redis from 'ioredis';
import { Client } from 'pg';
import { readLog, waitForLog } from '../../../test/support/log-files';
import { PrivateRedis } from '../../../test/support/private-redis';
import {
  CLI_MAIN,
  RunningProcess,
  runToExit,
  sleep,
  startProbeApi,
} from '../../../test/support/processes';
import { TEST_DATABASE_URL, testEnv } from '../../../test/support/test-env';

type Api = RunningProcess & { url: string };

/** Security tests use their own Redis index, flushed first, so counts start from zero. */
const SECURITY_REDIS_URL = 'redis://127.0.0.1:6379/3';

async function flushSecurityRedis(): Promise<void> {
  const redis = new Redis(SECURITY_REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}

function env(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return testEnv({ REDIS_URL: SECURITY_REDIS_URL, ...overrides });
}

/** `apikey:create` as an operator runs it; the key is the last line of stdout. */
async function createKey(args: string[], extraEnv: NodeJS.ProcessEnv = env()): Promise<string> {
  const result = await runToExit(CLI_MAIN, ['apikey:create', ...args], extraEnv);
  expect(result.code).toBe(0);
  const lines = result.stdout.trimEnd().split('\n');
  return lines[lines.length - 1];
}

let ipCounter = 10;
/** A fresh client address per test (the api trusts loopback proxies in these tests). */
function nextIp(): string {
  ipCounter += 1;
  return `198.51.100.${ipCounter}`;
}

function from(ip: string, headers: Record<string, string> = {}): RequestInit {
  return { headers: { 'X-Forwarded-For': ip, ...headers } };
}

const EXPECTED_HEADERS: Record<string, string | RegExp> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'x-xss-protection': '0',
  'referrer-policy': 'no-referrer',
  'permissions-policy': /camera=\(\).*geolocation=\(\).*microphone=\(\)/,
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function expectSecurityHeaders(response: Response): void {
  for (const [name, expected] of Object.entries(EXPECTED_HEADERS)) {
    const value = response.headers.get(name);
    if (typeof expected === 'string') expect({ name, value }).toEqual({ name, value: expected });
    else expect(value).toMatch(expected);
  }
  expect(response.headers.get('x-powered-by')).toBeNull();
}

describe('API keys (real api, PostgreSQL, CLI)', () => {
  let api: Api;
  let dir: string;
  const db = new Client({ connectionString: TEST_DATABASE_URL });

  beforeAll(async () => {
    await flushSecurityRedis();
    await db.connect();
    const apiEnv = env({ TRUST_PROXY: 'loopback', API_KEY_CACHE_SECONDS: '1', LOG_LEVEL: 'debug' });
    dir = String(apiEnv.LOG_DIR);
    api = await startProbeApi(apiEnv);
  });
  afterAll(async () => {
    await api?.stop();
    await db.end();
  });

  it('rejects a request without a key: 401, WWW-Authenticate, auth_failed event', async () => {
    const response = await fetch(`${api.url}/api/v1/me`, from(nextIp()));
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    const requestId = response.headers.get('x-request-id');
    const [event] = await waitForLog(dir, 'api', 'security', (l) => l.requestId === requestId);
    expect(event).toMatchObject({ event: 'auth_failed', reason: 'missing' });
  });

  it.each([
    ['a wrong key', `Bearer rl_0badc0de_${'A'.repeat(43)}`],
    ['a malformed key', 'Bearer not-a-key'],
    ['a non-Bearer scheme', 'Basic dXNlcjpwYXNz'],
  ])('rejects %s with 401 and never logs the key', async (_what, authorization) => {
    const response = await fetch(
      `${api.url}/api/v1/me`,
      from(nextIp(), { Authorization: authorization }),
    );
    expect(response.status).toBe(401);
    await waitForLog(
      dir,
      'api',
      'security',
      (l) => l.requestId === response.headers.get('x-request-id'),
    );
    expect(JSON.stringify(readLog(dir, 'api', 'security'))).not.toContain('A'.repeat(43));
  });

  it('accepts a valid key (Bearer or X-API-Key) and puts its owner on the request lines', async () => {
    const key = await createKey(['--user', 'user-42@example.com', '--name', 'ci key']);
    const variants: Array<Record<string, string>> = [
      { Authorization: `Bearer ${key}` },
      { 'X-API-Key': key },
    ];
    for (const headers of variants) {
      const response = await fetch(`${api.url}/api/v1/me`, from(nextIp(), headers));
      expect(response.status).toBe(200);
      expectSecurityHeaders(response);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toEqual({
        userId: 'user-42@example.com',
        keyId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        keyName: 'ci key',
        admin: false,
      });
      const requestId = response.headers.get('x-request-id');
      const [access] = await waitForLog(dir, 'api', 'access', (l) => l.requestId === requestId);
      expect(access.userId).toBe('user-42@example.com');
      const [app] = await waitForLog(
        dir,
        'api',
        'app',
        (l) => l.requestId === requestId && l.msg === 'API key verified',
      );
      expect(app.userId).toBe('user-42@example.com');
    }
  });

  it('stores only a hash: the secret is in no column of the row', async () => {
    const key = await createKey(['--user', 'hash-check', '--admin']);
    expect(key).toMatch(/^rl_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    const { rows } = await db.query('SELECT * FROM api_keys WHERE user_id = $1', ['hash-check']);
    expect(rows).toHaveLength(1);
    expect(rows[0].admin).toBe(true);
    expect(JSON.stringify(rows[0])).not.toContain(key.slice(12));
    expect(rows[0].key_hash).toMatch(/^[0-9a-f]{64}$/);
    const list = await runToExit(CLI_MAIN, ['apikey:list'], env());
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(key.slice(0, 11));
    expect(list.stdout).not.toContain(key.slice(12));
  });

  it('stops accepting a revoked key within the cache bound', async () => {
    const key = await createKey(['--user', 'revoke-me']);
    const ip = nextIp();
    const auth = from(ip, { Authorization: `Bearer ${key}` });
    expect((await fetch(`${api.url}/api/v1/me`, auth)).status).toBe(200);
    const revoked = await runToExit(CLI_MAIN, ['apikey:revoke', key.slice(0, 11)], env());
    expect(revoked.code).toBe(0);
    await sleep(1500);
    const response = await fetch(`${api.url}/api/v1/me`, auth);
    expect(response.status).toBe(401);
    const [event] = await waitForLog(
      dir,
      'api',
      'security',
      (l) => l.requestId === response.headers.get('x-request-id'),
    );
    expect(event).toMatchObject({ reason: 'revoked', keyPrefix: key.slice(0, 11) });
  });

  it('rejects an expired key', async () => {
    const key = await createKey(['--user', 'expiring', '--expires-in', '1']);
    await db.query(
      `UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1`,
      [key.slice(0, 11)],
    );
    const response = await fetch(
      `${api.url}/api/v1/me`,
      from(nextIp(), { Authorization: `Bearer ${key}` }),
    );
    expect(response.status).toBe(401);
  });

  it('refuses a bad --user with a clear line and exit 2', async () => {
    const result = await runToExit(CLI_MAIN, ['apikey:create', '--user', 'bad user!'], env());
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      'Error running apikey:create: --user is required: 1 to 128 characters of A-Za-z0-9._@-',
    );
  });

  it('records admin actions in the CLI security log', async () => {
    const cliEnv = env();
    await createKey(['--user', 'audited'], cliEnv);
    const [event] = readLog(String(cliEnv.LOG_DIR), 'cli', 'security');
    expect(event).toMatchObject({ event: 'apikey_created', userId: 'audited', service: 'cli' });
  });
});

describe('rate limiting (two api processes sharing Redis)', () => {
  const LIMIT = 10;
  let apis: Api[];
  let dir: string;

  beforeAll(async () => {
    await flushSecurityRedis();
    const shared = env({
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
      RATE_LIMIT_BAN_THRESHOLD: '1000',
      RATE_LIMIT_EXEMPT_IPS: '203.0.113.0/24',
    });
    dir = String(shared.LOG_DIR);
    apis = await Promise.all([startProbeApi(shared), startProbeApi(shared)]);
  });
  afterAll(() => Promise.all(apis.map((api) => api.stop())));

  it('admits exactly the limit out of a concurrent burst of 3x spread over both replicas', async () => {
    const ip = nextIp();
    const responses = await Promise.all(
      Array.from({ length: 3 * LIMIT }, (_, i) => fetch(`${apis[i % 2].url}/nope-${i}`, from(ip))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s !== 429)).toHaveLength(LIMIT);
    expect(statuses.filter((s) => s === 429)).toHaveLength(2 * LIMIT);
  });

  it('sends the IETF RateLimit headers, and Retry-After with problem details on 429', async () => {
    const ip = nextIp();
    const first = await fetch(`${apis[0].url}/api/v1/me`, from(ip));
    expect(first.headers.get('ratelimit-policy')).toBe(`"default";q=${LIMIT};w=60`);
    expect(first.headers.get('ratelimit')).toMatch(
      new RegExp(`^"default";r=${LIMIT - 1};t=(60|59)$`),
    );
    for (let i = 1; i < LIMIT; i += 1) await fetch(`${apis[i % 2].url}/nope`, from(ip));
    const limited = await fetch(`${apis[1].url}/api/v1/me`, from(ip));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit')).toMatch(/^"default";r=0;t=\d+$/);
    expectSecurityHeaders(limited);
    const body = (await limited.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(JSON.stringify(body)).not.toMatch(/Throttl|RateLimiterRes/);
    const [event] = await waitForLog(
      dir,
      'api',
      'security',
      (l) => l.requestId === limited.headers.get('x-request-id'),
    );
    expect(event).toMatchObject({ event: 'rate_limited', ip });
  });

  it('counts API routes, unknown routes and 401s in one count per IP', async () => {
    const ip = nextIp();
    const paths = ['/api/v1/me', '/no/such/route', '/api/v1/generations', '/admin/queues', '/x'];
    for (let i = 0; i < LIMIT; i += 1) {
      expect((await fetch(`${apis[0].url}${paths[i % paths.length]}`, from(ip))).status).not.toBe(
        429,
      );
    }
    expect((await fetch(`${apis[0].url}/another/path`, from(ip))).status).toBe(429);
  });

  it('never limits health routes and gives them no RateLimit headers', async () => {
    const ip = nextIp();
    for (let i = 0; i < LIMIT + 1; i += 1) await fetch(`${apis[0].url}/nope`, from(ip));
    const health = await fetch(`${apis[0].url}/health`, from(ip));
    expect(health.status).toBe(200);
    expect(health.headers.get('ratelimit')).toBeNull();
    expectSecurityHeaders(health);
  });

  it('never counts exempt IPs (CIDR), and gives them no RateLimit headers', async () => {
    for (let i = 0; i < LIMIT * 2; i += 1) {
      const response = await fetch(`${apis[i % 2].url}/nope`, from('203.0.113.9'));
      expect(response.status).toBe(404);
      expect(response.headers.get('ratelimit')).toBeNull();
    }
  });

  it('treats an IPv4-mapped IPv6 address as the same client', async () => {
    const ip = nextIp();
    for (let i = 0; i < LIMIT; i += 1) await fetch(`${apis[0].url}/nope`, from(`::ffff:${ip}`));
    expect((await fetch(`${apis[0].url}/nope`, from(ip))).status).toBe(429);
  });

  it('does not count CORS preflights (CORS on)', async () => {
    const cors = await startProbeApi(
      env({
        TRUST_PROXY: 'loopback',
        RATE_LIMIT_PER_MINUTE: String(LIMIT),
        RATE_LIMIT_EXEMPT_IPS: '',
        CORS_ORIGINS: 'https://app.example',
      }),
    );
    try {
      const ip = nextIp();
      for (let i = 0; i < LIMIT * 2; i += 1) {
        const response = await fetch(`${cors.url}/api/v1/me`, {
          method: 'OPTIONS',
          headers: {
            'X-Forwarded-For': ip,
            Origin: 'https://evil.example',
            'Access-Control-Request-Method': 'GET',
          },
        });
        expect(response.status).not.toBe(429);
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
      }
    } finally {
      await cors.stop();
    }
  });
});

describe('client IP and X-Forwarded-For tricks', () => {
  beforeEach(() => flushSecurityRedis());

  it('ignores X-Forwarded-For from an untrusted peer: rotating it does not reset the count', async () => {
    const api = await startProbeApi(env({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_EXEMPT_IPS: '' }));
    try {
      const statuses = [];
      for (let i = 0; i < 8; i += 1) {
        statuses.push((await fetch(`${api.url}/nope`, from(`10.0.0.${i}`))).status);
      }
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
      // Nor can a client claim an exempt address.
      expect((await fetch(`${api.url}/nope`, from('127.0.0.1'))).status).toBe(429);
    } finally {
      await api.stop();
    }
  });

  it('with TRUST_PROXY=1, the right-most hop is the client: rotating left entries changes nothing', async () => {
    const api = await startProbeApi(env({ TRUST_PROXY: '1', RATE_LIMIT_PER_MINUTE: '5' }));
    try {
      const statuses = [];
      for (let i = 0; i < 8; i += 1) {
        statuses.push((await fetch(`${api.url}/nope`, from(`10.9.9.${i}, 192.0.2.50`))).status);
      }
      expect(statuses.filter((s) => s === 429)).toHaveLength(3);
      // A different right-most hop is a different client.
      expect((await fetch(`${api.url}/nope`, from('192.0.2.51'))).status).toBe(404);
    } finally {
      await api.stop();
    }
  });
});

describe('bans', () => {
  const banEnv = (): NodeJS.ProcessEnv =>
    env({
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_PER_MINUTE: '2',
      RATE_LIMIT_BAN_THRESHOLD: '3',
      RATE_LIMIT_BAN_SECONDS: '3',
      AUTH_FAILURE_BAN_THRESHOLD: '3',
    });
  let api: Api;
  let dir: string;
  let apiEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await flushSecurityRedis();
    apiEnv = banEnv();
    dir = String(apiEnv.LOG_DIR);
    api = await startProbeApi(apiEnv);
  });
  afterAll(() => api?.stop());

  async function banned(ip: string): Promise<void> {
    const statuses = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await fetch(`${api.url}/nope`, from(ip))).status);
    expect(statuses).toEqual([404, 404, 429, 429, 403]);
  }

  it('bans after the threshold of 429s: 403 IP_BANNED with Retry-After, health still open', async () => {
    const ip = nextIp();
    await banned(ip);
    const response = await fetch(`${api.url}/api/v1/me`, from(ip));
    expect(response.status).toBe(403);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
    expectSecurityHeaders(response);
    expect(await response.json()).toMatchObject({ code: 'IP_BANNED', status: 403 });
    expect((await fetch(`${api.url}/health`, from(ip))).status).toBe(200);
    const events = readLog(dir, 'api', 'security').filter((l) => l.ip === ip);
    expect(events.map((l) => l.event)).toEqual(
      expect.arrayContaining(['rate_limited', 'ip_banned', 'ban_blocked']),
    );
  });

  it("keeps a client's ban and counters under one hash tag (one Redis Cluster slot: the check is one script)", async () => {
    const ip = nextIp();
    const hashTag = (key: string): string | undefined => /\{([^}]*)\}/.exec(key)?.[1];
    const redis = new Redis(SECURITY_REDIS_URL);
    try {
      for (const status of [404, 404, 429])
        expect((await fetch(`${api.url}/nope`, from(ip))).status).toBe(status);
      const counters = (await redis.keys(`rl:*${ip}*`)).sort();
      expect(counters).toEqual([`rl:req:{${ip}}`, `rl:viol:{${ip}}`]);
      for (const status of [429, 403])
        expect((await fetch(`${api.url}/nope`, from(ip))).status).toBe(status);
      expect(await redis.exists(`rl:ban:{${ip}}`)).toBe(1);
      expect(new Set([...counters, `rl:ban:{${ip}}`].map(hashTag))).toEqual(new Set([ip]));
    } finally {
      await redis.quit();
    }
  });

  it('lets a ban expire, and the client starts clean', async () => {
    const ip = nextIp();
    await banned(ip);
    await sleep(3500);
    const response = await fetch(`${api.url}/nope`, from(ip));
    expect(response.status).toBe(404);
    expect(response.headers.get('ratelimit')).toMatch(/^"default";r=1;/);
  });

  it('holds for a second api process and after a restart; security:unban lifts it', async () => {
    const longBan: NodeJS.ProcessEnv = { ...apiEnv, RATE_LIMIT_BAN_SECONDS: '120' };
    let first = await startProbeApi(longBan);
    const second = await startProbeApi(longBan);
    try {
      const ip = nextIp();
      const statuses = [];
      for (let i = 0; i < 5; i += 1)
        statuses.push((await fetch(`${first.url}/nope`, from(ip))).status);
      expect(statuses).toEqual([404, 404, 429, 429, 403]);
      expect((await fetch(`${second.url}/nope`, from(ip))).status).toBe(403);
      await first.stop();
      first = await startProbeApi(longBan);
      expect((await fetch(`${first.url}/nope`, from(ip))).status).toBe(403);

      const unban = await runToExit(CLI_MAIN, ['security:unban', ip], longBan);
      if (unban.code !== 0)
        throw new Error(`unban failed: ${unban.stderr} ${unban.stdout.slice(-3000)}`);
      expect(unban.stdout).toContain(`Lifted the ban on ${ip}`);
      const response = await fetch(`${second.url}/nope`, from(ip));
      expect(response.status).toBe(404);
      expect(response.headers.get('ratelimit')).toMatch(/^"default";r=1;/);
      const [event] = readLog(String(longBan.LOG_DIR), 'cli', 'security').filter(
        (l) => l.event === 'ip_unbanned',
      );
      expect(event).toMatchObject({ ip, wasBanned: true });
    } finally {
      await Promise.all([first.stop(), second.stop()]);
    }
  });

  it('bans after the threshold of failed authentications', async () => {
    const authApi = await startProbeApi({ ...apiEnv, RATE_LIMIT_PER_MINUTE: '100' });
    try {
      const ip = nextIp();
      const statuses = [];
      for (let i = 0; i < 4; i += 1) {
        statuses.push(
          (await fetch(`${authApi.url}/api/v1/me`, from(ip, { 'X-API-Key': `bad-${i}` }))).status,
        );
      }
      expect(statuses).toEqual([401, 401, 401, 403]);
      expect((await fetch(`${authApi.url}/nope`, from(ip))).status).toBe(403);
      const [event] = readLog(dir, 'api', 'security').filter(
        (l) => l.event === 'ip_banned' && l.ip === ip,
      );
      expect(event.reason).toBe('authentication failed repeatedly');
    } finally {
      await authApi.stop();
    }
  });
});

describe('Redis outage', () => {
  let redis: PrivateRedis;
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const apiEnv = testEnv({
      REDIS_URL: redis.url,
      TRUST_PROXY: 'loopback',
      RATE_LIMIT_PER_MINUTE: '3',
    });
    dir = String(apiEnv.LOG_DIR);
    api = await startProbeApi(apiEnv);
  });
  afterAll(async () => {
    await api?.stop();
    await redis?.down();
  });

  it('serves requests while Redis is down, limited in memory (logged), and shares limits again when it is back', async () => {
    const ip = nextIp();
    for (let i = 0; i < 3; i += 1)
      expect((await fetch(`${api.url}/nope`, from(ip))).status).toBe(404);
    expect((await fetch(`${api.url}/nope`, from(ip))).status).toBe(429);

    await redis.down();
    const during: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const started = Date.now();
      during.push((await fetch(`${api.url}/nope`, from(ip))).status);
      expect(Date.now() - started).toBeLessThan(3000);
    }
    // served, never a 5xx, and the same limit held by this process alone
    expect(during).toEqual([404, 404, 404, 429, 429]);
    await waitForLog(dir, 'api', 'security', (l) => l.event === 'security_backend_unavailable');

    await redis.up();
    let limited = false;
    for (let attempt = 0; attempt < 40 && !limited; attempt += 1) {
      limited = (await fetch(`${api.url}/nope`, from(ip))).status === 429;
      if (!limited) await sleep(250);
    }
    expect(limited).toBe(true);
    await waitForLog(dir, 'api', 'security', (l) => l.event === 'security_backend_recovered');
  });
});

describe('security headers on every kind of response', () => {
  let api: Api;

  beforeAll(async () => {
    await flushSecurityRedis();
    api = await startProbeApi(
      env({ TRUST_PROXY: 'loopback', RATE_LIMIT_PER_MINUTE: '1', BODY_LIMIT: '1kb' }),
    );
  });
  afterAll(() => api?.stop());

  it.each([
    ['200', () => fetch(`${api.url}/health`), 200],
    ['401', () => fetch(`${api.url}/api/v1/me`, from('192.0.2.1')), 401],
    ['404', () => fetch(`${api.url}/nope`, from('192.0.2.2')), 404],
    [
      '413',
      () =>
        fetch(`${api.url}/test/log`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': '192.0.2.3' },
          body: JSON.stringify({ x: 'y'.repeat(5000) }),
        }),
      413,
    ],
    ['500', () => fetch(`${api.url}/test/errors/throw`, from('192.0.2.4')), 500],
  ])('%s', async (_name, send, status) => {
    const response = await send();
    expect(response.status).toBe(status);
    expectSecurityHeaders(response);
  });

  it('429', async () => {
    await fetch(`${api.url}/nope`, from('192.0.2.5'));
    const response = await fetch(`${api.url}/nope`, from('192.0.2.5'));
    expect(response.status).toBe(429);
    expectSecurityHeaders(response);
  });
});
