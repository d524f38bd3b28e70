import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import { createApiKey } from '../../../test/support/api-keys';
import { readLog } from '../../../test/support/log-files';
import { PrivateRedis } from '../../../test/support/private-redis';
import {
  RunningProcess,
  ROOT,
  sleep,
  startApi,
  startWorker,
} from '../../../test/support/processes';
import { tempDir, testEnv as baseTestEnv } from '../../../test/support/test-env';
import { resetTestStores } from '../../../test/support/test-stores';
import { WebhookReceiver } from '../../../test/support/webhook-receiver';

/**
 * Its own database: the reconciler case must not meet the unfinished records other suites leave
 * in the shared test database.
 */
const TRACING_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_tracing';
const testEnv = (overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv =>
  baseTestEnv({ DATABASE_URL: TRACING_DATABASE_URL, ...overrides });

/** A span as OTLP/JSON carries it (opentelemetry-proto's trace.proto, JSON mapping). */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  traceState?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  links?: Array<{ traceId: string; spanId: string }>;
}
interface OtlpTraceRequest {
  resourceSpans: Array<{
    resource?: { attributes?: OtlpSpan['attributes'] };
    scopeSpans: Array<{ scope?: { name: string }; spans: OtlpSpan[] }>;
  }>;
}
type Received = OtlpSpan & { service: string; scope: string };

const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;

function attribute(span: OtlpSpan, key: string): unknown {
  const found = span.attributes?.find((a) => a.key === key)?.value;
  return found ? Object.values(found)[0] : undefined;
}

/** An OTLP/HTTP receiver (JSON): every span it was sent, with its service and scope. */
async function startReceiver(): Promise<{ url: string; spans: Received[]; close: () => void }> {
  const spans: Received[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(raw) as OtlpTraceRequest;
        for (const resourceSpans of body.resourceSpans) {
          const service = resourceSpans.resource?.attributes?.find((a) => a.key === 'service.name')
            ?.value.stringValue as string;
          for (const scopeSpans of resourceSpans.scopeSpans)
            for (const span of scopeSpans.spans)
              spans.push({ ...span, service, scope: scopeSpans.scope?.name ?? '' });
        }
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, spans, close: () => server.close() };
}

/** An OpenAI-compatible stub: echoes the prompt; a prompt starting `retry` fails once (503). */
async function startProvider(): Promise<{ url: string; close: () => void }> {
  const seen = new Set<string>();
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const prompt = (JSON.parse(raw) as { messages: Array<{ content: string }> }).messages[0]
        .content;
      if (prompt.startsWith('retry') && !seen.has(prompt)) {
        seen.add(prompt);
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'try again' } }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          choices: [{ message: { content: `echo: ${prompt}` } }],
          usage: { prompt_tokens: 5, completion_tokens: 3 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, close: () => server.close() };
}

async function eventually<T>(probe: () => T | undefined, what: string, ms = 20000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Records the modules a process loaded, at its exit (a --require preload of the test's). */
const MODULE_REPORTER = join(ROOT, 'test/support/report-loaded-modules.js');

describe('tracing with OpenTelemetry (OTLP/HTTP to a receiver of the test)', () => {
  let redis: PrivateRedis;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let provider: Awaited<ReturnType<typeof startProvider>>;

  beforeAll(async () => {
    await resetTestStores(TRACING_DATABASE_URL);
    [redis, receiver, provider] = await Promise.all([
      PrivateRedis.start(),
      startReceiver(),
      startProvider(),
    ]);
  });

  afterAll(async () => {
    receiver?.close();
    provider?.close();
    await redis?.down();
  });

  it('makes one trace from the client through the api, the queue, the worker, the provider and PostgreSQL, with no secret in it', async () => {
    const logDir = tempDir('tracing-logs');
    const env = testEnv({
      REDIS_URL: redis.url,
      LOG_DIR: logDir,
      LOG_LEVEL: 'debug',
      GENAI_PROVIDER: 'openai',
      OPENAI_BASE_URL: provider.url,
      OPENAI_API_KEY: 'sk-test-never-traced',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      QUEUE_BACKOFF_MS: '100',
      WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    });
    const hooks = await WebhookReceiver.start();
    const key = await createApiKey(env, '--user', 'traced');
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    const traceId = randomBytes(16).toString('hex');
    const clientSpanId = randomBytes(8).toString('hex');
    const headers = {
      Authorization: `Bearer ${key}`,
      traceparent: `00-${traceId}-${clientSpanId}-01`,
      tracestate: 'vendor=kept',
    };
    const prompt = `traced prompt ${randomUUID()}`;
    try {
      const created = await fetch(`${api.url}/api/v1/generations`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt, callbackUrl: hooks.url('/hook?token=hook-secret') }),
      });
      expect(created.status).toBe(202);
      const { id } = (await created.json()) as { id: string };
      let result = '';
      const deadline = Date.now() + 20000;
      while (Date.now() < deadline) {
        const read = await fetch(`${api.url}/api/v1/generations/${id}`, {
          headers: { Authorization: `Bearer ${key}` },
        });
        const body = (await read.json()) as { status: string; result?: string };
        if (body.status === 'succeeded') {
          result = body.result as string;
          break;
        }
        await sleep(100);
      }
      expect(result).toBe(`echo: ${prompt}`);
      // a read with a query string, in the same trace
      const listed = await fetch(`${api.url}/api/v1/generations?limit=7&status=succeeded`, {
        headers,
      });
      expect(listed.status).toBe(200);

      const trace = () => receiver.spans.filter((span) => span.traceId === traceId);
      const server = await eventually(
        () => trace().find((s) => s.kind === SERVER && s.name === 'POST /api/v1/generations'),
        'the api server span of the POST',
      );
      expect(server.service).toBe('rocket-launch-api');
      expect(server.parentSpanId).toBe(clientSpanId);
      expect(server.traceState).toBe('vendor=kept');
      const job = await eventually(
        () => trace().find((s) => s.kind === CONSUMER && s.name === 'generations process'),
        "the worker's job span",
      );
      expect(job.service).toBe('rocket-launch-worker');
      expect(attribute(job, 'job.attempt')).toBe(1);
      const apiSpanIds = new Set(
        trace()
          .filter((s) => s.service === 'rocket-launch-api')
          .map((s) => s.spanId),
      );
      expect(apiSpanIds.has(job.parentSpanId as string)).toBe(true);
      const call = await eventually(
        () =>
          trace().find(
            (s) => s.kind === CLIENT && String(attribute(s, 'url.full')).startsWith(provider.url),
          ),
        'the provider call',
      );
      const list = await eventually(
        () => trace().find((s) => s.name === 'GET /api/v1/generations'),
        'the list read',
      );
      await sleep(500);
      const spans = trace();
      const byId = new Map(spans.map((s) => [s.spanId, s]));
      const ancestors = (span: OtlpSpan): string[] => {
        const chain: string[] = [];
        let parent = span.parentSpanId ? byId.get(span.parentSpanId) : undefined;
        while (parent) {
          chain.push(parent.spanId);
          parent = parent.parentSpanId ? byId.get(parent.parentSpanId) : undefined;
        }
        return chain;
      };
      expect(ancestors(call)).toContain(job.spanId);
      // the completion webhook: its job continues the trace, its POST a client span under it
      const hookJob = await eventually(
        () => trace().find((s) => s.kind === CONSUMER && s.name === 'webhooks process'),
        "the webhook delivery's job span",
      );
      const hookCall = await eventually(
        () =>
          trace().find(
            (s) =>
              s.kind === CLIENT && String(attribute(s, 'url.full')).startsWith(hooks.url('/hook')),
          ),
        'the webhook attempt',
      );
      expect(hooks.at('/hook?token=hook-secret')).toHaveLength(1);
      expect(attribute(hookCall, 'url.full')).toBe(hooks.url('/hook'));
      expect(attribute(hookCall, 'http.response.status_code')).toBe(200);
      const pg = spans.filter((s) => s.scope.includes('instrumentation-pg'));
      const redisSpans = spans.filter((s) => s.scope.includes('instrumentation-ioredis'));
      expect(pg.some((s) => ancestors(s).includes(server.spanId))).toBe(true);
      expect(pg.some((s) => ancestors(s).includes(job.spanId))).toBe(true);
      expect(byId.get(hookJob.parentSpanId as string)?.spanId).toBe(job.spanId);
      expect(ancestors(hookCall)).toContain(hookJob.spanId);
      expect(redisSpans.some((s) => ancestors(s).includes(server.spanId))).toBe(true);
      // the limit checks every request makes (per IP, per key) start no span: a read is its SQL
      expect(redisSpans.filter((s) => ancestors(s).includes(list.spanId))).toEqual([]);
      expect(pg.some((s) => ancestors(s).includes(list.spanId))).toBe(true);
      // no span per Express middleware layer
      expect(spans.filter((s) => s.scope.includes('instrumentation-express'))).toEqual([]);

      // nothing secret in any span of any trace
      const everything = JSON.stringify(receiver.spans);
      for (const secret of [
        prompt,
        key,
        'sk-test-never-traced',
        'limit=7',
        'status=succeeded',
        'hook-secret',
        String(env.WEBHOOK_SECRET).slice('whsec_'.length),
      ])
        expect({ secret, found: everything.includes(secret) }).toEqual({ secret, found: false });
      for (const span of redisSpans) {
        const statement = attribute(span, 'db.statement') ?? attribute(span, 'db.query.text');
        expect(String(statement ?? span.name)).toMatch(/^[a-z]+$/i);
      }

      // every log line of that request and of that job carries the trace id
      const requestId = created.headers.get('x-request-id');
      const requestLines = [
        ...readLog(logDir, 'api', 'app'),
        ...readLog(logDir, 'api', 'access'),
        ...readLog(logDir, 'worker', 'app'),
      ].filter((line) => line.requestId === requestId);
      expect(requestLines.length).toBeGreaterThan(2);
      expect(requestLines.filter((line) => line.traceId !== traceId)).toEqual([]);
      expect(requestLines.every((line) => /^[0-9a-f]{16}$/.test(String(line.spanId)))).toBe(true);
      expect(readLog(logDir, 'worker', 'app').some((l) => l.requestId === requestId)).toBe(true);

      // a retry after the backoff is a new span in the same trace, with its attempt number
      const retryTrace = randomBytes(16).toString('hex');
      const retried = await fetch(`${api.url}/api/v1/generations`, {
        method: 'POST',
        headers: {
          ...headers,
          traceparent: `00-${retryTrace}-${randomBytes(8).toString('hex')}-01`,
          'Content-Type': 'application/json',
        },
        body: JSON.stringify({ prompt: `retry ${randomUUID()}` }),
      });
      expect(retried.status).toBe(202);
      const attempts = await eventually(() => {
        const jobs = receiver.spans.filter(
          (s) => s.traceId === retryTrace && s.name === 'generations process',
        );
        return jobs.length === 2 ? jobs : undefined;
      }, 'two attempts in the trace');
      expect(attempts.map((s) => attribute(s, 'job.attempt')).sort()).toEqual([1, 2]);
      expect(new Set(attempts.map((s) => s.spanId)).size).toBe(2);
      const access = readLog(logDir, 'api', 'access').find(
        (line) => line.method === 'POST' && line.traceId === traceId,
      );
      expect(access).toBeDefined();
      expect(readLog(logDir, 'worker', 'app').some((l) => l.traceId === traceId)).toBe(true);
    } finally {
      expect(await Promise.all([api.stop(), worker.stop()])).toEqual([0, 0]);
      await hooks.close();
    }
  });

  it('re-queues a lost job in a new trace linked to the one stored with the record', async () => {
    const env = testEnv({
      REDIS_URL: redis.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
    const key = await createApiKey(env, '--user', 'traced-requeue');
    const api = await startApi(env);
    const traceId = randomBytes(16).toString('hex');
    let id = '';
    try {
      const created = await fetch(`${api.url}/api/v1/generations`, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${key}`,
          'Content-Type': 'application/json',
          traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01`,
        },
        body: JSON.stringify({ prompt: 'lost with Redis' }),
      });
      expect(created.status).toBe(202);
      id = ((await created.json()) as { id: string }).id;
    } finally {
      expect(await api.stop()).toBe(0);
    }
    const db = new Client({ connectionString: String(env.DATABASE_URL) });
    await db.connect();
    try {
      const [stored] = (await db.query('SELECT traceparent FROM generations WHERE id = $1', [id]))
        .rows as Array<{ traceparent: string }>;
      // the record keeps the POST's traceparent: its trace, the api's server span
      expect(stored.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
      // Redis loses the job; the record is old enough for the reconciler's first pass
      await redis.down();
      await redis.up();
      await db.query(
        "UPDATE generations SET created_at = now() - interval '1 hour' WHERE id = $1",
        [id],
      );
      const worker = await startWorker(env);
      try {
        const requeue = await eventually(
          () =>
            receiver.spans.find(
              (s) =>
                s.name === 'generations requeue' &&
                s.links?.some((link) => link.traceId === traceId),
            ),
          "the reconciler's re-queue span, linked to the stored trace",
        );
        expect(requeue.traceId).not.toBe(traceId);
        expect(requeue.parentSpanId ?? '').toBe('');
        const job = await eventually(
          () =>
            receiver.spans.find(
              (s) => s.name === 'generations process' && s.traceId === requeue.traceId,
            ),
          'the job span in the new trace',
        );
        expect(job.parentSpanId).toBe(requeue.spanId);
        const [record] = (await db.query('SELECT status FROM generations WHERE id = $1', [id]))
          .rows as Array<{ status: string }>;
        expect(['running', 'succeeded']).toContain(record.status);
      } finally {
        expect(await worker.stop()).toBe(0);
      }
    } finally {
      await db.end();
    }
  });

  it('flushes pending spans on SIGTERM before exiting 0', async () => {
    const traceId = randomBytes(16).toString('hex');
    const api = await startApi(
      testEnv({
        REDIS_URL: redis.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        // held in the batch for a minute unless shutdown flushes them
        OTEL_BSP_SCHEDULE_DELAY: '60000',
      }),
    );
    const response = await fetch(`${api.url}/api/v1/me`, {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
    });
    expect(response.status).toBe(401);
    await sleep(300);
    expect(receiver.spans.some((s) => s.traceId === traceId)).toBe(false);
    expect(await api.stop('SIGTERM')).toBe(0);
    expect(receiver.spans.some((s) => s.traceId === traceId && s.name === 'GET /api/v1/me')).toBe(
      true,
    );
  });

  it('loads no @opentelemetry module without OTEL_* settings, and the instrumentations with them', async () => {
    const loaded = async (extra: Record<string, string>): Promise<string[]> => {
      const report = join(tempDir('modules'), 'loaded.json');
      const api: RunningProcess & { url: string } = await startApi({
        ...testEnv({ REDIS_URL: redis.url, ...extra }),
        NODE_OPTIONS: `--require ${MODULE_REPORTER}`,
        MODULE_REPORT: report,
      });
      expect((await fetch(`${api.url}/health/ready`)).status).toBe(200);
      expect(await api.stop()).toBe(0);
      // prom-client itself loads @opentelemetry/api (the no-op API, for its exemplars): the
      // SDK and the instrumentations are what must not load
      return (JSON.parse(readFileSync(report, 'utf8')) as string[]).filter(
        (path) => path.includes('@opentelemetry/') && !path.includes('@opentelemetry/api/'),
      );
    };
    expect(await loaded({})).toEqual([]);
    expect(
      await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SDK_DISABLED: 'true' }),
    ).toEqual([]);
    const traced = await loaded({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(traced.some((path) => path.includes('instrumentation-http'))).toBe(true);
  });
});
