import { createApiKey } from '../../../test/support/api-keys';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { parse as parseYaml } from 'yaml';
import { readLog } from '../../../test/support/log-files';
import { Sample, parseMetrics, valueOf } from '../../../test/support/prometheus';
import {
  ROOT,
  RunningProcess,
  sleep,
  startApi,
  startProbeApi,
  startWorker,
  workerHealthUrl,
} from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';
import { resetTestStores } from '../../../test/support/test-stores';

type Api = RunningProcess & { url: string };

const REDIS = 'redis://127.0.0.1:6379/14';
/**
 * Its own database: the worker's job counts must not include the unfinished records other
 * suites leave in the shared test database (its reconciler would run them).
 */
const METRICS_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_metrics';
const PRODUCTION_REDIS = 'redis://127.0.0.1:6379/15';
const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

async function flush(url: string): Promise<void> {
  const redis = new Redis(url);
  await redis.flushdb();
  await redis.quit();
}

async function scrape(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ text: string; samples: Sample[]; types: Map<string, string> }> {
  const response = await fetch(`${url}/metrics`, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain;.*version=0\.0\.4/);
  const text = await response.text();
  return { text, ...parseMetrics(text) };
}

/** Metric names an alert expression reads: PromQL minus functions, keywords, labels and strings. */
function metricNames(expr: string): string[] {
  const PROMQL_WORDS = new Set(
    (
      'sum min max avg count stddev stdvar topk bottomk quantile count_values group by without on ' +
      'ignoring group_left group_right and or unless bool offset rate irate increase delta idelta ' +
      'deriv changes resets abs absent absent_over_time clamp clamp_min clamp_max ceil floor round ' +
      'histogram_quantile label_replace label_join predict_linear time vector scalar sort ' +
      'sort_desc avg_over_time min_over_time max_over_time sum_over_time count_over_time ' +
      'last_over_time present_over_time'
    ).split(' '),
  );
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const words = stripped.match(/[a-zA-Z_:][\w:]*/g) ?? [];
  return [...new Set(words.filter((word) => !PROMQL_WORDS.has(word) && !/^\d/.test(word)))];
}

describe('metrics (real api, worker, PostgreSQL and Redis)', () => {
  let api: Api;
  let worker: RunningProcess;
  let apiKey: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await resetTestStores(METRICS_DATABASE_URL, REDIS);
    env = testEnv({
      DATABASE_URL: METRICS_DATABASE_URL,
      REDIS_URL: REDIS,
      RATE_LIMIT_PER_MINUTE: '3',
      RATE_LIMIT_EXEMPT_IPS: '127.0.0.1',
      LOCAL_PROVIDER_DELAY_MS: '0',
      WORKER_HEARTBEAT_SECONDS: '1',
    });
    [api, worker] = await Promise.all([startProbeApi(env), startWorker(env)]);
    apiKey = await createApiKey(env, '--user', 'metrics-user');
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
  });

  it('counts known traffic under the right method, route template, status and level', async () => {
    const port = new URL(api.url).port;
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    expect((await fetch(`${api.url}/no/such/route`)).status).toBe(404);
    expect((await fetch(`${api.url}/test/errors/throw`)).status).toBe(500);
    // over IPv6 loopback the client is not the exempt 127.0.0.1: the 4th request is over the limit
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1)
      statuses.push((await fetch(`http://[::1]:${port}/api/v1/me`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);

    const { samples } = await scrape(api.url);
    const requests = (route: string, status: string): number =>
      valueOf(samples, 'http_requests_total', { method: 'GET', route, status, service: 'api' });
    expect(requests('/health', '200')).toBe(1);
    expect(requests('unmatched', '404')).toBe(1);
    expect(requests('/test/errors/throw', '500')).toBe(1);
    expect(requests('/api/v1/me', '401')).toBe(3);
    expect(requests('/api/v1/me', '429')).toBe(1);
    expect(
      valueOf(samples, 'http_request_duration_seconds_count', {
        route: '/test/errors/throw',
        status: '500',
      }),
    ).toBe(1);
    expect(
      valueOf(samples, 'http_request_duration_seconds_bucket', { route: '/health', le: '+Inf' }),
    ).toBe(1);
    expect(valueOf(samples, 'rate_limit_hits_total')).toBe(1);
    expect(valueOf(samples, 'security_events_total', { event: 'rate_limited' })).toBe(1);
    expect(valueOf(samples, 'security_events_total', { event: 'auth_failed' })).toBe(3);

    // log lines are counted where they are written: every error line in errors.log is one count
    await sleep(300);
    const errorLines = readLog(String(env.LOG_DIR), 'api', 'errors').filter(
      (line) => line.level === 'error',
    );
    expect(errorLines.length).toBeGreaterThan(0);
    expect(valueOf(samples, 'log_lines_total', { level: 'error' })).toBe(errorLines.length);
    expect(valueOf(samples, 'log_lines_total', { level: 'info' })).toBeGreaterThan(5);

    // sampled at scrape time
    expect(valueOf(samples, 'postgres_up')).toBe(1);
    expect(valueOf(samples, 'redis_up')).toBe(1);
    expect(valueOf(samples, 'workers_online')).toBe(1);
    expect(valueOf(samples, 'db_pool_connections', { state: 'max' })).toBe(10);
    expect(valueOf(samples, 'db_pool_connections', { state: 'waiting' })).toBe(0);
    expect(valueOf(samples, 'queue_jobs', { queue: 'generations', state: 'active' })).toBe(0);
  });

  it('counts a finished job by provider and outcome on the worker', async () => {
    const response = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'count me' }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    const deadline = Date.now() + 20000;
    let status = '';
    while (status !== 'succeeded' && Date.now() < deadline) {
      await sleep(100);
      const read = await fetch(`${api.url}/api/v1/generations/${id}`, {
        headers: { Authorization: `Bearer ${apiKey}` },
      });
      status = ((await read.json()) as { status: string }).status;
    }
    expect(status).toBe('succeeded');

    const { samples } = await scrape(workerHealthUrl(worker));
    const labels = { provider: 'local', outcome: 'succeeded', service: 'worker' };
    expect(valueOf(samples, 'generation_jobs_total', labels)).toBe(1);
    expect(valueOf(samples, 'generation_job_duration_seconds_count', labels)).toBe(1);
    expect(
      valueOf(samples, 'log_lines_total', { level: 'info', service: 'worker' }),
    ).toBeGreaterThan(0);
    expect(valueOf(samples, 'postgres_up', { service: 'worker' })).toBe(1);
    expect(valueOf(samples, 'redis_up', { service: 'worker' })).toBe(1);
    expect(
      valueOf(samples, 'db_pool_connections', { state: 'total', service: 'worker' }),
    ).toBeGreaterThan(0);
  });

  it('keeps the number of HTTP series flat over 1,000 distinct unknown paths and ids', async () => {
    const series = (samples: Sample[]): number =>
      samples.filter((sample) => sample.name === 'http_requests_total').length;
    const before = series((await scrape(api.url)).samples);
    const ids: string[] = [];
    for (let batch = 0; batch < 20; batch += 1) {
      await Promise.all(
        Array.from({ length: 50 }, (_, i) => {
          const id = randomUUID();
          ids.push(id);
          const path = i % 2 === 0 ? `/unknown/${id}/x` : `/api/v1/generations/${id}`;
          return fetch(`${api.url}${path}`).then((r) => r.arrayBuffer());
        }),
      );
    }
    const after = await scrape(api.url);
    // at most the two label sets those requests introduce (unmatched 404, /:id 401) and the scrape
    expect(series(after.samples) - before).toBeLessThanOrEqual(2);
    expect(ids.some((id) => after.text.includes(id))).toBe(false);
    expect(
      valueOf(after.samples, 'http_requests_total', {
        route: '/api/v1/generations/:id',
        status: '401',
      }),
    ).toBe(500);
  });

  // promtool's own checks of these files and scrapes run in the reliability suite (it needs
  // Debian's prometheus package); these are the naming rules it enforces, checked in JS.
  it('names metrics by Prometheus conventions on real scrapes of the api and the worker', async () => {
    for (const url of [api.url, workerHealthUrl(worker)]) {
      const { types } = await scrape(url);
      expect(types.size).toBeGreaterThan(20);
      for (const [name, type] of types) {
        if (type === 'counter') expect(name).toMatch(/_total$/);
        else expect(name).not.toMatch(/_total$/);
        expect(name).not.toMatch(/_(ms|milliseconds|kb|mb)\b/);
        if (type === 'histogram') expect(name).toMatch(/_(seconds|bytes)$/);
      }
    }
  });

  it('has alert rules that only name metrics the apps export', async () => {
    const file = join(ROOT, 'config/prometheus/alerts.yml');
    const exported = new Set<string>();
    for (const url of [api.url, workerHealthUrl(worker)]) {
      for (const [name, type] of (await scrape(url)).types) {
        exported.add(name);
        if (type === 'histogram')
          for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name + suffix);
      }
    }
    const rules = (
      parseYaml(readFileSync(file, 'utf8')) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      }
    ).groups.flatMap((group) => group.rules);
    expect(rules.map((rule) => rule.alert)).toEqual(
      expect.arrayContaining([
        'ErrorLogRateHigh',
        'Http5xxRateHigh',
        'QueueBacklogGrowing',
        'NoWorkerOnline',
        'DbPoolWaiting',
        'PostgresDown',
        'RedisDown',
        'ApiRestarting',
      ]),
    );
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names)
        expect({ alert: rule.alert, name, exported: exported.has(name) }).toEqual({
          alert: rule.alert,
          name,
          exported: true,
        });
    }
  });
});

describe('metrics access in production and when disabled', () => {
  it('needs the bearer token in production: 401 problem details without it, 200 with it', async () => {
    await flush(PRODUCTION_REDIS);
    const env = testEnv({
      ENVIRONMENT: 'production',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      REDIS_URL: PRODUCTION_REDIS,
      METRICS_TOKEN,
    });
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      for (const url of [api.url, workerHealthUrl(worker)]) {
        for (const headers of [
          {},
          { Authorization: 'Bearer wrong-token-0123456789abcdef' },
          { Authorization: `Basic ${METRICS_TOKEN}` },
          { Authorization: `Bearer ${METRICS_TOKEN}x` },
        ]) {
          const response = await fetch(`${url}/metrics`, { headers });
          expect(response.status).toBe(401);
          expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
          const body = (await response.json()) as Record<string, unknown>;
          expect(body).toMatchObject({ status: 401, code: 'UNAUTHORIZED', title: 'Unauthorized' });
          expect(JSON.stringify(body)).not.toContain('http_requests_total');
        }
        const { samples } = await scrape(url, { Authorization: `Bearer ${METRICS_TOKEN}` });
        expect(samples.length).toBeGreaterThan(20);
      }
      // scrapes are never rate limited nor counted against the client
      const scrapes = await Promise.all(
        Array.from({ length: 30 }, () =>
          fetch(`${api.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } }),
        ),
      );
      expect(scrapes.map((r) => r.status).every((s) => s === 200)).toBe(true);
      expect(scrapes[0].headers.get('ratelimit')).toBeNull();
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });

  it('serves no /metrics with METRICS_ENABLED=false', async () => {
    const env = testEnv({ REDIS_URL: REDIS, METRICS_ENABLED: 'false' });
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      for (const url of [api.url, workerHealthUrl(worker)]) {
        const response = await fetch(`${url}/metrics`);
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      }
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });
});
