import Queue from 'bull';
import Redis from 'ioredis';
import { Client } from 'pg';
import { request } from 'node:http';
import { connect } from 'node:net';
import { createApiKey } from '../../../test/support/api-keys';
import { readLog, waitForLog } from '../../../test/support/log-files';
import { PrivatePostgres } from '../../../test/support/private-postgres';
import {
  CLI_MAIN,
  RunningProcess,
  runToExit,
  sleep,
  startApi,
  startWorker,
  workerHealthUrl,
} from '../../../test/support/processes';
import { TEST_DATABASE_URL, testEnv } from '../../../test/support/test-env';

type Api = RunningProcess & { url: string };

/** These tests use their own Redis index, flushed first, so counts start from zero. */
const REDIS_URL = 'redis://127.0.0.1:6379/10';
const USER = 'ops';
const PASSWORD = 'dashboard-password-0123';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

async function flush(): Promise<void> {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
}

/** An api that trusts loopback proxies, so each test plays its clients by X-Forwarded-For. */
function env(overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return testEnv({
    REDIS_URL,
    TRUST_PROXY: 'loopback',
    RATE_LIMIT_EXEMPT_IPS: '',
    BULL_BOARD_USERNAME: USER,
    BULL_BOARD_PASSWORD: PASSWORD,
    METRICS_TOKEN,
    ...overrides,
  });
}

let ipCounter = 10;
function nextIp(): string {
  ipCounter += 1;
  return `192.0.2.${ipCounter}`;
}

const basic = (user: string, password: string): string =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the dashboard and metrics credentials are no oracle', () => {
  let apis: Api[];

  beforeAll(async () => {
    await flush();
    const shared = env({ RATE_LIMIT_PER_MINUTE: '1000' });
    apis = await Promise.all([startApi(shared), startApi(shared)]);
  });
  afterAll(() => Promise.all(apis.map((api) => api.stop())));

  it('counts an OPTIONS "preflight" without CORS as an ordinary request, and bans its guesses', async () => {
    const ip = nextIp();
    const guess = (i: number) =>
      fetch(`${apis[i % 2].url}/admin/queues/api/queues`, {
        method: 'OPTIONS',
        headers: {
          'X-Forwarded-For': ip,
          Origin: 'https://evil.example',
          'Access-Control-Request-Method': 'GET',
          Authorization: basic(USER, `guess-${i}`),
        },
      });
    const first = await guess(0);
    expect(first.status).toBe(401);
    expect(first.headers.get('ratelimit')).toMatch(/^"default";r=\d+;t=\d+$/);
    for (let i = 1; i < 20; i += 1) expect((await guess(i)).status).toBe(401);
    // the 20th wrong password banned the address, on both replicas, for every route and method
    for (const api of apis) {
      const right = await fetch(`${api.url}/admin/queues/api/queues`, {
        method: 'OPTIONS',
        headers: {
          'X-Forwarded-For': ip,
          'Access-Control-Request-Method': 'GET',
          Authorization: basic(USER, PASSWORD),
        },
      });
      expect(right.status).toBe(403);
      expect(((await right.json()) as { code: string }).code).toBe('IP_BANNED');
      expect(
        (await fetch(`${api.url}/metrics`, { headers: { 'X-Forwarded-For': ip } })).status,
      ).toBe(403);
      expect(
        (await fetch(`${api.url}/health`, { headers: { 'X-Forwarded-For': ip } })).status,
      ).toBe(200);
    }
  });

  it('bans 20 wrong dashboard passwords spread over both replicas', async () => {
    const ip = nextIp();
    for (let i = 0; i < 20; i += 1) {
      const response = await fetch(`${apis[i % 2].url}/admin/queues`, {
        headers: { 'X-Forwarded-For': ip, Authorization: basic(USER, `wrong-${i}`) },
      });
      expect(response.status).toBe(401);
    }
    for (const api of apis) {
      const response = await fetch(`${api.url}/admin/queues`, {
        headers: { 'X-Forwarded-For': ip, Authorization: basic(USER, PASSWORD) },
      });
      expect(response.status).toBe(403);
    }
  });

  it('bans wrong metrics tokens, but never a scraper or a page that sends no credential', async () => {
    const guesser = nextIp();
    for (let i = 0; i < 20; i += 1) {
      const response = await fetch(`${apis[i % 2].url}/metrics`, {
        headers: {
          'X-Forwarded-For': guesser,
          Authorization: `Bearer wrong-token-${i}-0123456789`,
        },
      });
      expect(response.status).toBe(401);
    }
    const scrape = await fetch(`${apis[0].url}/metrics`, {
      headers: { 'X-Forwarded-For': guesser, Authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(scrape.status).toBe(403);

    const visitor = nextIp();
    for (let i = 0; i < 30; i += 1) {
      const [dashboard, key, metrics] = await Promise.all([
        fetch(`${apis[0].url}/admin/queues`, { headers: { 'X-Forwarded-For': visitor } }),
        fetch(`${apis[1].url}/api/v1/me`, { headers: { 'X-Forwarded-For': visitor } }),
        fetch(`${apis[0].url}/metrics`, { headers: { 'X-Forwarded-For': visitor } }),
      ]);
      expect([dashboard.status, key.status, metrics.status]).toEqual([401, 401, 401]);
    }
  });
});

describe('preflights with CORS on', () => {
  it('are not counted, but a banned client is blocked there too', async () => {
    await flush();
    const api = await startApi(
      env({ CORS_ORIGINS: 'https://app.example', AUTH_FAILURE_BAN_THRESHOLD: '3' }),
    );
    try {
      const ip = nextIp();
      const preflight = () =>
        fetch(`${api.url}/api/v1/me`, {
          method: 'OPTIONS',
          headers: {
            'X-Forwarded-For': ip,
            Origin: 'https://app.example',
            'Access-Control-Request-Method': 'GET',
          },
        });
      const allowed = await preflight();
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
      expect(allowed.headers.get('ratelimit')).toBeNull();
      for (let i = 0; i < 3; i += 1)
        await fetch(`${api.url}/api/v1/me`, {
          headers: { 'X-Forwarded-For': ip, 'X-API-Key': `wrong-${i}` },
        });
      expect((await preflight()).status).toBe(403);
    } finally {
      await api.stop();
    }
  });
});

describe('client keys and exemptions', () => {
  it('never takes a forwarded value that is not an IP as the client: rotating garbage changes nothing', async () => {
    await flush();
    const api = await startApi(env({ RATE_LIMIT_PER_MINUTE: '5' }));
    try {
      const statuses: number[] = [];
      for (const value of ['a', 'b', 'not-an-ip', '1', '999.1.1.1', 'x'.repeat(60), ' ', '::zz'])
        statuses.push(
          (await fetch(`${api.url}/nope`, { headers: { 'X-Forwarded-For': value } })).status,
        );
      // all eight are the socket's client (127.0.0.1, not exempt here): five pass, three are limited
      expect(statuses.filter((status) => status === 429)).toHaveLength(3);
    } finally {
      await api.stop();
    }
  });

  it('never bans an exempt address, however many wrong keys it sends', async () => {
    await flush();
    const apiEnv = testEnv({
      REDIS_URL,
      RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1',
      AUTH_FAILURE_BAN_THRESHOLD: '3',
    });
    const dir = String(apiEnv.LOG_DIR);
    const api = await startApi(apiEnv);
    try {
      for (let i = 0; i < 6; i += 1) {
        const response = await fetch(`${api.url}/api/v1/me`, {
          headers: { 'X-API-Key': `bad-${i}` },
        });
        expect(response.status).toBe(401);
      }
      await waitForLog(dir, 'api', 'security', (line) => line.event === 'auth_failed', {
        count: 6,
      });
      expect(readLog(dir, 'api', 'security').filter((line) => line.event === 'ip_banned')).toEqual(
        [],
      );
    } finally {
      await api.stop();
    }
  });
});

describe('bounded work per request', () => {
  let api: Api;
  let key: string;

  beforeAll(async () => {
    await flush();
    const apiEnv = env({ BODY_LIMIT: '4mb', RATE_LIMIT_PER_MINUTE: '1000' });
    api = await startApi(apiEnv);
    key = await createApiKey(apiEnv, '--user', 'bounded');
  });
  afterAll(() => api.stop());

  const post = (body: string) =>
    fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body,
      signal: AbortSignal.timeout(10000),
    });

  it('refuses an object with 130,000 keys before validation, with a small answer', async () => {
    const body = `{${Array.from({ length: 130_000 }, (_, i) => `"k${i}":0`).join(',')}}`;
    const response = await post(body);
    const text = await response.text();
    expect(response.status).toBe(400);
    expect(text.length).toBeLessThan(2000);
    expect(JSON.parse(text)).toMatchObject({
      code: 'INVALID_JSON',
      detail: 'Error parsing JSON body: an object has more than 1000 keys',
    });
  });

  it('lists at most 20 invalid fields, and says how many there were', async () => {
    const fields = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`extra${i}`, i]));
    const response = await post(JSON.stringify({ prompt: 'ok', ...fields }));
    const body = (await response.json()) as { code: string; detail: string; errors: unknown[] };
    expect(response.status).toBe(400);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors).toHaveLength(20);
    expect(body.detail).toBe(
      'Error validating request: 100 fields are invalid; the first 20 are listed',
    );
  });

  it('answers U+0000 in any text field with 400 VALIDATION_FAILED, never a 500', async () => {
    for (const body of [
      { prompt: 'a\u0000b' },
      { prompt: 'ok', model: 'm\u0000' },
      { prompt: 'ok', ['key\u0000']: 1 },
    ]) {
      const response = await post(JSON.stringify(body));
      expect(response.status).toBe(400);
      expect(((await response.json()) as { code: string }).code).toBe('VALIDATION_FAILED');
    }
  });

  it('stores any number the contract accepts: a temperature PostgreSQL cannot hold as is', async () => {
    const response = await post(JSON.stringify({ prompt: 'tiny', temperature: 1e-300 }));
    expect(response.status).toBe(202);
  });

  it('reads no body of an uncounted request, and counts any other request under /health/', async () => {
    // a GET with a malformed JSON body: parsing it would be a 400
    const probe = await new Promise<number>((resolve, reject) => {
      const req = request(`${api.url}/health`, {
        method: 'GET',
        headers: { 'Content-Type': 'application/json', 'Content-Length': '8' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{"bad": ');
    });
    expect(probe).toBe(200);
    const other = await fetch(`${api.url}/health/x`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': nextIp() },
      body: '{"not": json',
    });
    expect(other.status).toBe(400);
    expect(other.headers.get('ratelimit')).toMatch(/^"default";/);
    const scrapeWithBody = await fetch(`${api.url}/health/ready`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': nextIp() },
      body: '{}',
    });
    expect(scrapeWithBody.headers.get('ratelimit')).toMatch(/^"default";/);
  });
});

describe('health bodies and heartbeats', () => {
  it('names the failing dependency and a generic reason in production, never its address', async () => {
    const postgres = await PrivatePostgres.start();
    const databaseUrl = postgres.url.replace(/\/postgres$/, '/rocket_launch');
    const apiEnv = testEnv({
      REDIS_URL,
      DATABASE_URL: databaseUrl,
      ENVIRONMENT: 'production',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      HEALTH_CHECK_TIMEOUT_MS: '1000',
    });
    expect((await runToExit(CLI_MAIN, ['db:setup'], apiEnv, 60000)).code).toBe(0);
    const [api, worker] = await Promise.all([startApi(apiEnv), startWorker(apiEnv)]);
    try {
      postgres.down();
      const workerUrl = workerHealthUrl(worker);
      for (const url of [
        `${api.url}/health/ready`,
        `${api.url}/health/database`,
        `${workerUrl}/health/ready`,
      ]) {
        const response = await fetch(url);
        const text = await response.text();
        expect(response.status).toBe(503);
        const body = JSON.parse(text) as { error: Record<string, { message?: string }> };
        expect(['connection refused', 'timeout', 'unavailable']).toContain(
          body.error.database.message,
        );
        expect(text).not.toMatch(/127\.0\.0\.1|localhost|ECONNREFUSED|:\d{4,5}\b/);
        expect(text).not.toContain(String(postgres.port));
      }
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
      postgres.destroy();
    }
  });

  it('finds the workers in one hash: parallel scrapes stay fast with 100,000 other keys', async () => {
    await flush();
    const redis = new Redis(REDIS_URL);
    for (let batch = 0; batch < 100; batch += 1) {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 1000; i += 1) pipeline.set(`unrelated:${batch}:${i}`, 'x');
      await pipeline.exec();
    }
    const apiEnv = env({ WORKER_HEARTBEAT_SECONDS: '1' });
    const [api, worker] = await Promise.all([startApi(apiEnv), startWorker(apiEnv)]);
    try {
      await sleep(1500);
      const heartbeats = await redis.hgetall('rl:workers');
      expect(Object.keys(heartbeats)).toHaveLength(1);
      const started = Date.now();
      const scrapes = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(`${api.url}/metrics`, {
            headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
            signal: AbortSignal.timeout(10000),
          }).then(async (response) => ({ status: response.status, text: await response.text() })),
        ),
      );
      expect(Date.now() - started).toBeLessThan(10000);
      for (const scrape of scrapes) {
        expect(scrape.status).toBe(200);
        expect(scrape.text).toMatch(/^workers_online\{[^}]*\} 1$/m);
      }
      const detailed = (await (await fetch(`${api.url}/health/detailed`)).json()) as {
        details: { workers: { online: number } };
      };
      expect(detailed.details.workers.online).toBe(1);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
      await redis.flushdb();
      await redis.quit();
    }
  });
});

describe('IPv6 clients', () => {
  it('counts every address of one /64 as one client: one limit, one ban, O(1) keys, one unban', async () => {
    await flush();
    const apiEnv = env({ RATE_LIMIT_PER_MINUTE: '5', RATE_LIMIT_BAN_THRESHOLD: '2' });
    const api = await startApi(apiEnv);
    const redis = new Redis(REDIS_URL);
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 200; i += 1) {
        const address = `2001:db8:1:2:${((i * 7919) % 0xffff).toString(16)}:${i.toString(16)}::${i.toString(16)}`;
        statuses.push(
          (await fetch(`${api.url}/nope`, { headers: { 'X-Forwarded-For': address } })).status,
        );
      }
      // five answered, one refused, and the second refusal bans the whole /64
      expect(statuses.slice(0, 6)).toEqual([404, 404, 404, 404, 404, 429]);
      expect(new Set(statuses.slice(6))).toEqual(new Set([403]));
      expect(await redis.dbsize()).toBeLessThan(10);
      // another /64 is another client
      const neighbour = await fetch(`${api.url}/nope`, {
        headers: { 'X-Forwarded-For': '2001:db8:1:3::1' },
      });
      expect(neighbour.status).toBe(404);

      const unban = await runToExit(CLI_MAIN, ['security:unban', '2001:db8:1:2::/64'], apiEnv);
      expect(unban.code).toBe(0);
      expect(unban.stdout).toContain('Lifted the ban on 2001:db8:1:2::/64');
      const after = await fetch(`${api.url}/nope`, {
        headers: { 'X-Forwarded-For': '2001:db8:1:2:ffff::9' },
      });
      expect(after.status).toBe(404);
    } finally {
      await redis.quit();
      await api.stop();
    }
  });
});

describe('the list cursor', () => {
  it('pages through rows created within one millisecond: each exactly once', async () => {
    await flush();
    const apiEnv = env({ RATE_LIMIT_PER_MINUTE: '1000' });
    const api = await startApi(apiEnv);
    const user = `cursor-${Date.now()}`;
    const key = await createApiKey(apiEnv, '--user', user);
    const db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    try {
      const inserted = await db.query<{ id: string }>(
        `INSERT INTO generations (owner_id, status, prompt, model, created_at)
         SELECT $1, 'queued', 'p', 'local-dev-echo',
                timestamp with time zone '2026-06-01 12:00:00.000100+00' + n * interval '10 microseconds'
           FROM generate_series(1, 30) AS n RETURNING id`,
        [user],
      );
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor ? `&cursor=${cursor}` : '';
        const response = await fetch(`${api.url}/api/v1/generations?limit=7${query}`, {
          headers: { Authorization: `Bearer ${key}` },
        });
        expect(response.status).toBe(200);
        const page = (await response.json()) as {
          items: Array<{ id: string }>;
          nextCursor: string | null;
        };
        seen.push(...page.items.map((item) => item.id));
        cursor = page.nextCursor;
      } while (cursor);
      expect(seen).toHaveLength(30);
      expect(new Set(seen)).toEqual(new Set(inserted.rows.map((row) => row.id)));
    } finally {
      await db.query('DELETE FROM generations WHERE owner_id = $1', [user]);
      await db.end();
      await api.stop();
    }
  });
});

describe('every layer answers like the app', () => {
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    await flush();
    const apiEnv = env({ RATE_LIMIT_PER_MINUTE: '1000' });
    dir = String(apiEnv.LOG_DIR);
    api = await startApi(apiEnv);
  });
  afterAll(() => api.stop());

  /** One raw request on its own connection; the whole answer as text. */
  function raw(payload: string): Promise<string> {
    const { port } = new URL(api.url);
    return new Promise((resolve, reject) => {
      let answer = '';
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(payload));
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', reject);
    });
  }

  const headersOf = (answer: string): Record<string, string> =>
    Object.fromEntries(
      answer
        .split('\r\n\r\n')[0]
        .split('\r\n')
        .slice(1)
        .map((line) => [
          line.slice(0, line.indexOf(':')).toLowerCase(),
          line.slice(line.indexOf(':') + 2),
        ]),
    );

  const expectHeaderSet = (headers: Record<string, string>): void => {
    expect(headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['x-frame-options']).toBe('DENY');
    expect(headers['referrer-policy']).toBe('no-referrer');
    expect(headers['permissions-policy']).toMatch(/camera=\(\)/);
    expect(headers['cache-control']).toBe('no-store');
    expect(headers['x-powered-by']).toBeUndefined();
    expect(headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  };

  it.each([
    [
      'a header without a colon (400)',
      'GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      400,
    ],
    [
      'headers too large (431)',
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20000)}\r\n\r\n`,
      431,
    ],
  ])(
    "answers Node's parser error, %s, with the header set, problem details and an access line",
    async (_name, payload, status) => {
      const answer = await raw(payload);
      expect(answer.startsWith(`HTTP/1.1 ${status} `)).toBe(true);
      const headers = headersOf(answer);
      expectHeaderSet(headers);
      expect(headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(answer.split('\r\n\r\n')[1])).toMatchObject({
        status,
        code: 'BAD_REQUEST',
      });
      await waitForLog(dir, 'api', 'access', (line) => line.requestId === headers['x-request-id']);
    },
  );

  it('answers an unexpected Expect with 417 problem details, the header set and an access line', async () => {
    const answer = await raw(
      'GET /api/v1/me HTTP/1.1\r\nHost: x\r\nExpect: foo\r\nConnection: close\r\n\r\n',
    );
    expect(answer.slice(0, 40)).toMatch(/^HTTP\/1.1 417 /);
    const headers = headersOf(answer);
    expectHeaderSet(headers);
    expect(headers['ratelimit']).toMatch(/^"default";/);
    await waitForLog(dir, 'api', 'access', (line) => line.requestId === headers['x-request-id']);
  });

  it("answers Bull Board's own errors with problem details, without X-Powered-By", async () => {
    const auth = { Authorization: basic(USER, PASSWORD) };
    const page = await fetch(`${api.url}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(page.headers.get('x-powered-by')).toBeNull();
    const missing = await fetch(`${api.url}/admin/queues/api/queues/nope/jobs/1`, {
      headers: auth,
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(missing.headers.get('x-powered-by')).toBeNull();
    expect(missing.headers.get('cache-control')).toBe('no-store');
    expect(await missing.json()).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, { headers: auth });
    expect(queues.headers.get('cache-control')).toBe('no-store');
    const docs = await fetch(`${api.url}/api/docs-json`);
    expect(docs.headers.get('cache-control')).toBe('no-store');
  });
});

describe('idempotent replays', () => {
  it('never answer with a generation that its first request is about to delete', async () => {
    await flush();
    const apiEnv = env({ RATE_LIMIT_PER_MINUTE: '1000' });
    const api = await startApi(apiEnv); // no worker: generations stay queued
    const key = await createApiKey(apiEnv, '--user', `replay-${Date.now()}`);
    const db = new Client({ connectionString: TEST_DATABASE_URL });
    await db.connect();
    const queue = new Queue('generations', REDIS_URL);
    try {
      const post = () =>
        fetch(`${api.url}/api/v1/generations`, {
          method: 'POST',
          headers: {
            Authorization: `Bearer ${key}`,
            'Content-Type': 'application/json',
            'Idempotency-Key': 'order-1',
          },
          body: JSON.stringify({ prompt: 'once' }),
        });
      const first = await post();
      expect(first.status).toBe(202);
      const { id } = (await first.json()) as { id: string };
      // as if the first request were still failing to queue it: no job yet, the record deleted soon
      await (await queue.getJob(id))?.remove();
      const replay = post();
      await sleep(300);
      await db.query('DELETE FROM generations WHERE id = $1', [id]);
      const answer = await replay;
      expect(answer.status).toBe(202);
      expect(((await answer.json()) as { id: string }).id).not.toBe(id);
    } finally {
      await queue.close();
      await db.end();
      await api.stop();
    }
  });
});
