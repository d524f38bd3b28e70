import { Agent, request } from 'node:http';
import { readLog, waitForLog } from '../../../test/support/log-files';
import { PrivatePostgres } from '../../../test/support/private-postgres';
import { PrivateRedis } from '../../../test/support/private-redis';
import {
  CLI_MAIN,
  RunningProcess,
  runToExit,
  sleep,
  startApi,
  startProbeApi,
  startProbeWorker,
  startWorker,
} from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

type Api = RunningProcess & { url: string };
type Body = {
  status: string;
  info: Record<string, Record<string, unknown>>;
  error: Record<string, Record<string, unknown>>;
  details: Record<string, Record<string, unknown>>;
};

async function health(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: JSON.parse(text) as Body,
  };
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(200);
  }
}

describe('health endpoints (real api and worker)', () => {
  let api: Api;
  let worker: RunningProcess;

  beforeAll(async () => {
    const env = testEnv({ WORKER_HEARTBEAT_SECONDS: '1' });
    [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
  });

  it('answers liveness without asking any dependency', async () => {
    const result = await health(`${api.url}/health`);
    expect(result.status).toBe(200);
    expect(result.type).toMatch(/^application\/json/);
    expect(result.body).toEqual({ status: 'ok', info: {}, error: {}, details: {} });
  });

  it('keeps the liveness contract off the controllers: HEAD, query, documented, other methods 404', async () => {
    const head = await fetch(`${api.url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('49');
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await head.text()).toBe('');
    expect((await health(`${api.url}/health/?probe=1`)).body.status).toBe('ok');
    for (const method of ['POST', 'DELETE']) {
      const other = await fetch(`${api.url}/health`, { method });
      expect(other.status).toBe(404);
      expect(other.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(other.headers.get('x-request-id')).toBeTruthy();
    }
    const document = (await (await fetch(`${api.url}/api/docs-json`)).json()) as {
      paths: Record<string, Record<string, { summary?: string; security?: unknown[] }>>;
    };
    expect(document.paths['/health'].get).toMatchObject({ summary: 'Liveness', security: [] });
    expect(document.paths['/health/ready'].get.summary).toMatch(/^Readiness/);
  });

  it('answers readiness with PostgreSQL and Redis response times', async () => {
    const result = await health(`${api.url}/health/ready`);
    expect(result.status).toBe(200);
    expect(result.body.status).toBe('ok');
    expect(Object.keys(result.body.details).sort()).toEqual(['database', 'redis']);
    expect(result.body.details.database.responseTimeMs).toEqual(expect.any(Number));
    expect(result.body.details.redis.responseTimeMs).toEqual(expect.any(Number));
  });

  it('reports the database with pool statistics', async () => {
    const result = await health(`${api.url}/health/database`);
    expect(result.status).toBe(200);
    expect(result.body.details.pool).toMatchObject({
      status: 'up',
      total: expect.any(Number),
      idle: expect.any(Number),
      waiting: 0,
      max: 10,
    });
    expect(result.body.details.pool.total as number).toBeGreaterThanOrEqual(1);
  });

  it('reports everything in detail, with the worker online', async () => {
    await eventually(async () => (await health(`${api.url}/health/detailed`)).status === 200);
    const { body } = await health(`${api.url}/health/detailed`);
    expect(body.status).toBe('ok');
    expect(body.details.redis).toMatchObject({
      status: 'up',
      version: expect.stringMatching(/^\d+\.\d+/),
      usedMemoryBytes: expect.any(Number),
      evictionPolicy: 'noeviction',
      writable: true,
    });
    expect(body.details['queue:generations']).toMatchObject({
      status: 'up',
      waiting: expect.any(Number),
      active: expect.any(Number),
      failed: expect.any(Number),
      paused: false,
    });
    const workers = body.details.workers.workers as Array<Record<string, unknown>>;
    expect(workers.some((w) => w.pid === worker.proc.pid)).toBe(true);
    expect(workers.find((w) => w.pid === worker.proc.pid)).toMatchObject({
      id: expect.any(String),
      host: expect.any(String),
      concurrency: 4,
      activeJobs: 0,
      lastHeartbeat: expect.any(String),
    });
    expect(body.details.disk).toMatchObject({
      status: 'up',
      usedFraction: expect.any(Number),
      threshold: 0.9,
    });
    expect(body.details.memory).toMatchObject({
      status: 'up',
      rssMb: expect.any(Number),
      thresholdMb: 1024,
    });
    expect(body.details.cpu).toMatchObject({
      load1: expect.any(Number),
      cores: expect.any(Number),
    });
    expect(body.details.app).toMatchObject({ version: '0.1.0', uptimeSeconds: expect.any(Number) });
  });

  it('serves the worker its own liveness and readiness', async () => {
    const line = await worker.waitForLine((l) => String(l.msg).startsWith('worker health server'));
    const base = String(line.url);
    expect((await health(`${base}/health`)).body.status).toBe('ok');
    const ready = await health(`${base}/health/ready`);
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.details).sort()).toEqual(['database', 'redis']);
  });

  it('reports error once no worker is online', async () => {
    const solo = await startApi(testEnv({ REDIS_URL: 'redis://127.0.0.1:6379/4' }));
    try {
      const result = await health(`${solo.url}/health/detailed`);
      expect(result.status).toBe(503);
      expect(result.type).toMatch(/^application\/json/);
      expect(result.body.status).toBe('error');
      expect(result.body.error.workers).toMatchObject({ status: 'down', online: 0 });
    } finally {
      await solo.stop();
    }
  });
});

describe('detailed health in production', () => {
  it('needs an admin key: 401 without, 403 for a non-admin key, 200 for an admin key', async () => {
    const env = testEnv({
      ENVIRONMENT: 'production',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      REDIS_URL: 'redis://127.0.0.1:6379/5',
    });
    const keyOf = async (args: string[]): Promise<string> => {
      const result = await runToExit(CLI_MAIN, ['apikey:create', ...args], env);
      return result.stdout.trimEnd().split('\n').pop() as string;
    };
    const [admin, plain] = await Promise.all([
      keyOf(['--user', 'ops', '--admin']),
      keyOf(['--user', 'dev']),
    ]);
    const api = await startApi(env);
    try {
      const none = await fetch(`${api.url}/health/detailed`);
      expect(none.status).toBe(401);
      expect(none.headers.get('content-type')).toBe('application/problem+json');
      expect(
        (await fetch(`${api.url}/health/detailed`, { headers: { 'X-API-Key': plain } })).status,
      ).toBe(403);
      const ok = await fetch(`${api.url}/health/detailed`, { headers: { 'X-API-Key': admin } });
      expect([200, 503]).toContain(ok.status);
      expect(((await ok.json()) as Body).details.database.status).toBe('up');
      expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
    } finally {
      await api.stop();
    }
  });
});

describe('dependency outages', () => {
  it('turns readiness 503 naming Redis when it stops, keeps liveness, and recovers by itself', async () => {
    const redis = await PrivateRedis.start();
    const api = await startApi(testEnv({ REDIS_URL: redis.url, HEALTH_CHECK_TIMEOUT_MS: '1000' }));
    try {
      expect((await health(`${api.url}/health/ready`)).status).toBe(200);
      await redis.down();
      const down = await health(`${api.url}/health/ready`);
      expect(down.status).toBe(503);
      expect(down.type).toMatch(/^application\/json/);
      expect(down.body.status).toBe('error');
      expect(down.body.error.redis.status).toBe('down');
      expect(down.body.info.database.status).toBe('up');
      expect((await health(`${api.url}/health`)).status).toBe(200);

      await redis.up();
      await eventually(async () => (await health(`${api.url}/health/ready`)).status === 200);
    } finally {
      await api.stop();
      await redis.down();
    }
  });

  it('answers readiness within 2 x HEALTH_CHECK_TIMEOUT_MS + 1 s when Redis hangs', async () => {
    const redis = await PrivateRedis.start();
    const api = await startApi(testEnv({ REDIS_URL: redis.url, HEALTH_CHECK_TIMEOUT_MS: '1000' }));
    try {
      redis.freeze();
      const started = Date.now();
      const result = await health(`${api.url}/health/ready`);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(result.status).toBe(503);
      expect(result.body.error.redis.message).toMatch(/did not answer within 1000 ms|timed out/i);
      const live = Date.now();
      expect((await health(`${api.url}/health`)).status).toBe(200);
      expect(Date.now() - live).toBeLessThan(1000);
    } finally {
      redis.thaw();
      await api.stop();
      await redis.down();
    }
  });

  it('turns readiness 503 naming the database when PostgreSQL stops, and recovers', async () => {
    const postgres = await PrivatePostgres.start();
    const api = await startApi(
      testEnv({ DATABASE_URL: postgres.url, HEALTH_CHECK_TIMEOUT_MS: '1000' }),
    );
    try {
      expect((await health(`${api.url}/health/ready`)).status).toBe(200);
      postgres.down();
      const started = Date.now();
      const down = await health(`${api.url}/health/ready`);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(down.status).toBe(503);
      expect(down.body.error.database.status).toBe('down');
      expect((await health(`${api.url}/health`)).status).toBe(200);
      postgres.up();
      await eventually(async () => (await health(`${api.url}/health/ready`)).status === 200);
    } finally {
      await api.stop();
      postgres.destroy();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes a slow request, reports shutting_down during the drain delay, exits 0', async () => {
    const api = await startProbeApi(testEnv({ SHUTDOWN_DRAIN_DELAY_MS: '1500' }));
    const slow = fetch(`${api.url}/test/slow?ms=2500`);
    await sleep(300);
    api.proc.kill('SIGTERM');
    await sleep(200);
    const ready = await health(`${api.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'shutting_down', info: {}, error: {}, details: {} });
    const live = await health(`${api.url}/health`);
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('shutting_down');
    const response = await slow;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, ms: 2500 });
    expect(await api.waitForExit()).toBe(0);
  });

  it('fails no accepted request under steady load across a SIGTERM', async () => {
    const env = testEnv({ SHUTDOWN_DRAIN_DELAY_MS: '1000' });
    const api = await startProbeApi(env);
    const url = new URL(api.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let ok = 0;
    let sent = 0;
    const failed: Array<{ id: string; reason: string }> = [];
    let stopped = false;
    const one = (): Promise<void> =>
      new Promise((resolve) => {
        const id = `load-${(sent += 1)}`;
        const req = request(
          {
            host: url.hostname,
            port: url.port,
            path: '/test/slow?ms=20',
            agent,
            headers: { 'X-Request-Id': id },
          },
          (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode === 200) ok += 1;
              else failed.push({ id, reason: `status ${res.statusCode}` });
              resolve();
            });
            res.on('error', (error) => {
              failed.push({ id, reason: error.message });
              resolve();
            });
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) => {
          if (error.code === 'ECONNREFUSED') stopped = true;
          failed.push({ id, reason: error.code ?? error.message });
          resolve();
        });
        req.end();
      });
    const client = async (): Promise<void> => {
      while (!stopped) await one();
    };
    const clients = Array.from({ length: 8 }, client);
    await sleep(700);
    api.proc.kill('SIGTERM');
    await Promise.all(clients);
    agent.destroy();
    expect(await api.waitForExit()).toBe(0);

    // A request the server accepted has an access line under its id. None of those may have
    // failed; a failure with no access line never reached the app (refused or reset in the
    // kernel's accept queue as the listener closed) and is one a client retries elsewhere.
    const accepted = new Set(readLog(String(env.LOG_DIR), 'api', 'access').map((l) => l.requestId));
    expect(failed.filter((f) => accepted.has(f.id))).toEqual([]);
    expect(failed.filter((f) => f.reason.startsWith('status'))).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect(failed.some((f) => f.reason === 'ECONNREFUSED')).toBe(true);
  });
});

describe('worker shutdown', () => {
  it('lets a running job finish on SIGTERM, then exits 0', async () => {
    const env = testEnv();
    const dir = String(env.LOG_DIR);
    const api = await startProbeApi(env);
    const worker = await startProbeWorker(env);
    try {
      const response = await fetch(`${api.url}/test/jobs?marker=drain-1&sleepMs=2000`, {
        method: 'POST',
      });
      const { jobId } = (await response.json()) as { jobId: string };
      await waitForLog(
        dir,
        'worker',
        'app',
        (l) => l.jobId === jobId && l.msg === 'probe job started',
      );
      worker.proc.kill('SIGTERM');
      expect(await worker.waitForExit()).toBe(0);
      expect(
        readLog(dir, 'worker', 'app').some(
          (l) => l.jobId === jobId && l.msg === 'probe job finished',
        ),
      ).toBe(true);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });

  it('still exits when a job outlasts SHUTDOWN_TIMEOUT_MS; another worker completes the job', async () => {
    const env = testEnv({
      SHUTDOWN_TIMEOUT_MS: '1000',
      QUEUE_LOCK_DURATION_MS: '1500',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    });
    const dir = String(env.LOG_DIR);
    const api = await startProbeApi(env);
    const first = await startProbeWorker(env);
    let second: RunningProcess | undefined;
    try {
      const response = await fetch(`${api.url}/test/jobs?marker=long-1&sleepMs=4000`, {
        method: 'POST',
      });
      const { jobId } = (await response.json()) as { jobId: string };
      await waitForLog(
        dir,
        'worker',
        'app',
        (l) => l.jobId === jobId && l.msg === 'probe job started',
      );
      first.proc.kill('SIGTERM');
      const code = await first.waitForExit(10000);
      expect(code).toBe(1);
      expect(
        readLog(dir, 'worker', 'errors').some((l) =>
          String(l.msg).startsWith('Error shutting down'),
        ),
      ).toBe(true);

      second = await startProbeWorker(env);
      await waitForLog(
        dir,
        'worker',
        'app',
        (l) => l.jobId === jobId && l.msg === 'probe job finished' && l.pid === second?.proc.pid,
        { timeoutMs: 30000 },
      );
    } finally {
      await Promise.all([api.stop(), first.stop(), second?.stop()]);
    }
  });
});
