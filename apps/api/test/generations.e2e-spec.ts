import { createApiKey } from '../../../test/support/api-keys';
import type { GenerationView } from '@app/generations';
import Queue from 'bull';
import Redis from 'ioredis';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { logFiles } from '../../../test/support/log-files';
import { PrivateRedis } from '../../../test/support/private-redis';
import { RunningProcess, sleep, startApi, startWorker } from '../../../test/support/processes';
import { TEST_DATABASE_URL, testEnv } from '../../../test/support/test-env';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

type Api = RunningProcess & { url: string };
type View = GenerationView;

const db = new Client({ connectionString: TEST_DATABASE_URL });
beforeAll(() => db.connect());
afterAll(() => db.end());

async function flush(url: string): Promise<void> {
  const redis = new Redis(url);
  await redis.flushdb();
  await redis.quit();
}

function createKey(user: string, env: NodeJS.ProcessEnv): Promise<string> {
  return createApiKey(env, '--user', user);
}

function client(api: Api, key: string) {
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      response,
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
    };
  };
  return {
    call,
    post: (body: unknown, headers?: Record<string, string>) =>
      call('POST', '/api/v1/generations', body, headers),
    get: (id: string) => call('GET', `/api/v1/generations/${id}`),
    waitFor: async (id: string, statuses: string[], timeoutMs = 20000): Promise<View> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { body } = await call('GET', `/api/v1/generations/${id}`);
        if (statuses.includes(String(body.status))) return body as unknown as View;
        if (Date.now() > deadline)
          throw new Error(`generation ${id} is ${String(body.status)}: ${JSON.stringify(body)}`);
        await sleep(100);
      }
    },
  };
}

describe('generations end to end (real api, worker, PostgreSQL, Redis)', () => {
  const REDIS = 'redis://127.0.0.1:6379/6';
  let api: Api;
  let worker: RunningProcess;
  let alice: ReturnType<typeof client>;
  let bob: ReturnType<typeof client>;

  beforeAll(async () => {
    await flush(REDIS);
    const env = testEnv({ REDIS_URL: REDIS, QUEUE_BACKOFF_MS: '100' });
    const [aliceKey, bobKey] = await Promise.all([createKey('alice', env), createKey('bob', env)]);
    [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    alice = client(api, aliceKey);
    bob = client(api, bobKey);
  });
  afterAll(() => Promise.all([api?.stop(), worker?.stop()]));

  it('queues with 202 and Location, then the worker runs it to succeeded with result and usage', async () => {
    const { status, body, response } = await alice.post({
      prompt: 'Write a haiku about rockets',
      maxTokens: 12,
    });
    expect(status).toBe(202);
    expect(response.headers.get('location')).toBe(`/api/v1/generations/${String(body.id)}`);
    expect(body).toMatchObject({
      status: 'queued',
      prompt: 'Write a haiku about rockets',
      model: 'local-dev-echo',
      attempts: 0,
    });
    const done = await alice.waitFor(String(body.id), ['succeeded']);
    expect(done.result).toMatch(/^\[local-dev-echo\] /);
    expect(done.usage.promptTokens).toBe(5);
    expect(done.usage.completionTokens).toBeGreaterThan(0);
    expect(done.attempts).toBe(1);
    expect(Date.parse(String(done.startedAt))).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    expect(Date.parse(String(done.completedAt))).toBeGreaterThanOrEqual(
      Date.parse(String(done.startedAt)),
    );

    const again = await alice.post({ prompt: 'Write a haiku about rockets', maxTokens: 12 });
    expect((await alice.waitFor(String(again.body.id), ['succeeded'])).result).toBe(done.result);
  });

  it.each([
    ['an empty prompt', { prompt: '' }, 'prompt'],
    ['a prompt over 20,000 characters', { prompt: 'x'.repeat(20001) }, 'prompt'],
    ['maxTokens over 4096', { prompt: 'x', maxTokens: 4097 }, 'maxTokens'],
    ['a fractional maxTokens', { prompt: 'x', maxTokens: 1.5 }, 'maxTokens'],
    ['temperature over 2', { prompt: 'x', temperature: 2.5 }, 'temperature'],
    ['an unknown field', { prompt: 'x', admin: true }, 'admin'],
    ['a prompt that is not a string', { prompt: ['x'] }, 'prompt'],
  ])('rejects %s with 400 VALIDATION_FAILED', async (_what, body, field) => {
    const { status, body: problem } = await alice.post(body);
    expect(status).toBe(400);
    expect(problem.code).toBe('VALIDATION_FAILED');
    expect((problem.errors as Array<{ field: string }>).map((e) => e.field)).toContain(field);
  });

  it('accepts a prompt of exactly 20,000 UTF-16 code units', async () => {
    expect((await alice.post({ prompt: '🚀'.repeat(10000) })).status).toBe(202);
  });

  it('keeps generations to their owner: 404 for another user, 400 for a non-UUID id', async () => {
    const { body } = await alice.post({ prompt: 'private' });
    expect((await bob.get(String(body.id))).status).toBe(404);
    expect((await bob.call('DELETE', `/api/v1/generations/${String(body.id)}`)).status).toBe(404);
    const bad = await alice.get('not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('BAD_REQUEST');
  });

  it('lists newest first with cursor pagination and a status filter', async () => {
    const carol = client(api, await createKey('carol', testEnv({ REDIS_URL: REDIS })));
    const ids: string[] = [];
    for (const prompt of ['one', 'two', 'three'])
      ids.push(String((await carol.post({ prompt })).body.id));
    for (const id of ids) await carol.waitFor(id, ['succeeded']);

    const first = await carol.call('GET', '/api/v1/generations?limit=2');
    expect(first.status).toBe(200);
    const firstItems = first.body.items as View[];
    expect(firstItems.map((g) => g.id)).toEqual([ids[2], ids[1]]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await carol.call(
      'GET',
      `/api/v1/generations?limit=2&cursor=${String(first.body.nextCursor)}`,
    );
    expect((second.body.items as View[]).map((g) => g.id)).toEqual([ids[0]]);
    expect(second.body.nextCursor).toBeNull();

    const succeeded = await carol.call('GET', '/api/v1/generations?status=succeeded');
    expect((succeeded.body.items as View[]).length).toBe(3);
    const failed = await carol.call('GET', '/api/v1/generations?status=failed');
    expect(failed.body).toEqual({ items: [], nextCursor: null });
    const defaults = await carol.call('GET', '/api/v1/generations');
    expect((defaults.body.items as View[]).length).toBe(3);
  });

  it.each([
    'limit=0',
    'limit=101',
    'limit=abc',
    'status=done',
    'cursor=!!!',
    'cursor=bm90LWEtY3Vyc29y',
    'other=1',
  ])('rejects ?%s with 400', async (query) => {
    const { status, body } = await alice.call('GET', `/api/v1/generations?${query}`);
    expect(status).toBe(400);
    expect(body.status).toBe(400);
  });

  it('refuses to cancel a finished generation (409)', async () => {
    const { body } = await alice.post({ prompt: 'finish me' });
    await alice.waitFor(String(body.id), ['succeeded']);
    const cancel = await alice.call('DELETE', `/api/v1/generations/${String(body.id)}`);
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe('CONFLICT');
  });

  it('replays an Idempotency-Key: one generation, 200 with Idempotent-Replayed, 422 for another body', async () => {
    const first = await alice.post({ prompt: 'idempotent' }, { 'Idempotency-Key': 'order-123' });
    expect(first.status).toBe(202);
    const again = await alice.post({ prompt: 'idempotent' }, { 'Idempotency-Key': 'order-123' });
    expect(again.status).toBe(200);
    expect(again.response.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const other = await alice.post(
      { prompt: 'something else' },
      { 'Idempotency-Key': 'order-123' },
    );
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    // The same key from another user is another request.
    expect(
      (await bob.post({ prompt: 'idempotent' }, { 'Idempotency-Key': 'order-123' })).status,
    ).toBe(202);
  });

  it('gives concurrent requests with one Idempotency-Key one generation and one job', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        alice.post({ prompt: 'race' }, { 'Idempotency-Key': 'race-1' }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 200, 200, 200, 202]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    const { rows } = await db.query(
      "SELECT count(*)::int AS n FROM generations WHERE owner_id = 'alice' AND idempotency_key = 'race-1'",
    );
    expect(rows[0].n).toBe(1);
    await alice.waitFor(String(results[0].body.id), ['succeeded']);
  });

  it('rejects a malformed Idempotency-Key', async () => {
    const { status } = await alice.post({ prompt: 'x' }, { 'Idempotency-Key': 'x'.repeat(256) });
    expect(status).toBe(400);
  });
});

describe('queued generations without a worker', () => {
  const REDIS = 'redis://127.0.0.1:6379/7';
  let api: Api;
  let key: string;
  let user: ReturnType<typeof client>;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    await flush(REDIS);
    env = testEnv({
      REDIS_URL: REDIS,
      QUEUE_LOCK_DURATION_MS: '1000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    });
    key = await createKey('dave', env);
    api = await startApi(env);
    user = client(api, key);
  });
  afterAll(() => api?.stop());

  it('cancels a queued generation (200), and answers a second cancel the same way', async () => {
    const { body } = await user.post({ prompt: 'never mind' });
    const cancel = await user.call('DELETE', `/api/v1/generations/${String(body.id)}`);
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ id: body.id, status: 'cancelled' });
    expect(cancel.body.completedAt).toEqual(expect.any(String));
    const again = await user.call('DELETE', `/api/v1/generations/${String(body.id)}`);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('cancelled');
  });

  it('re-queues a queued record whose job was lost, and a worker then runs it', async () => {
    const { body } = await user.post({ prompt: 'lost job' });
    const id = String(body.id);
    const queue = new Queue('generations', REDIS);
    await (await queue.getJob(id))?.remove();
    expect(await queue.getJob(id)).toBeNull();
    await queue.close();
    // Old enough for the reconciler, which leaves records younger than its grace period alone.
    await db.query(
      `UPDATE generations SET created_at = now() - interval '1 minute' WHERE id = $1`,
      [id],
    );

    const worker = await startWorker(env);
    try {
      const done = await user.waitFor(id, ['succeeded']);
      expect(done.result).toMatch(/^\[local-dev-echo\]/);
      await worker.waitForLine((l) => l.msg === 're-queued generations whose job was missing');
    } finally {
      await worker.stop();
    }
  });
});

describe('Redis down at POST', () => {
  it('answers 503 within a few seconds and leaves no queued record behind', async () => {
    const redis = await PrivateRedis.start();
    const env = testEnv({ REDIS_URL: redis.url });
    const key = await createKey('erin', env);
    const api = await startApi(env);
    try {
      const user = client(api, key);
      expect((await user.post({ prompt: 'while up' })).status).toBe(202);
      await redis.down();
      const started = Date.now();
      const { status, body } = await withDeadline(
        user.post({ prompt: 'while down' }),
        15000,
        api,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${api.stdout().slice(-3000)}`);
      });
      expect(status).toBe(503);
      expect(body.code).toBe('SERVICE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(8000);
      const { rows } = await db.query(
        "SELECT count(*)::int AS n FROM generations WHERE prompt = 'while down'",
      );
      expect(rows[0].n).toBe(0);
    } finally {
      await api.stop();
      await redis.down();
    }
  });
});

describe('openai provider against a Chat Completions server on loopback', () => {
  const REDIS = 'redis://127.0.0.1:6379/8';
  let server: Server;
  const seen = new Map<string, number>();
  const maxTokensSent = new Map<string, unknown>();
  const streamAsked = new Map<string, unknown[]>();
  let authorization: string | undefined;
  let api: Api;
  let worker: RunningProcess;
  let user: ReturnType<typeof client>;
  let env: NodeJS.ProcessEnv;
  let key: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        authorization = req.headers.authorization;
        const body = JSON.parse(raw) as {
          messages: Array<{ content: string }>;
          max_tokens?: number;
          stream?: boolean;
          stream_options?: { include_usage?: boolean };
        };
        const prompt = body.messages[0].content;
        maxTokensSent.set(prompt, body.max_tokens);
        streamAsked.set(prompt, [...(streamAsked.get(prompt) ?? []), body.stream_options]);
        const count = (seen.get(prompt) ?? 0) + 1;
        seen.set(prompt, count);
        const reply = (status: number, payload: object) => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(payload));
        };
        // the Chat Completions stream: content deltas, a usage chunk, [DONE]
        const stream = (chunks: object[], then: 'done' | 'stall' = 'done') => {
          res.writeHead(200, { 'Content-Type': 'text/event-stream' });
          for (const chunk of chunks) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
          if (then === 'done') res.end('data: [DONE]\n\n');
        };
        const delta = (content: string) => ({ choices: [{ index: 0, delta: { content } }] });
        if (prompt === 'stream with usage' && body.stream)
          return stream([
            { choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
            delta('one '),
            delta('two '),
            delta('three'),
            { choices: [], usage: { prompt_tokens: 11, completion_tokens: 3 } },
          ]);
        if (prompt === 'refuses stream options' && body.stream_options)
          return reply(400, {
            error: { message: 'Unrecognized request argument supplied: stream_options' },
          });
        if (prompt === 'stalls mid-stream' && count === 1)
          return stream([delta('half an ')], 'stall');
        if (prompt === 'stalls mid-stream') return stream([delta('answer')]);
        if (prompt === 'error chunk' && count === 1)
          return stream([delta('x'), { error: { message: 'the model is overloaded' } }]);
        const completion = {
          choices: [{ message: { content: `echo: ${prompt}` } }],
          usage: { prompt_tokens: 7, completion_tokens: 3 },
        };
        if (prompt.startsWith('no usage'))
          return reply(200, { choices: [{ message: { content: 'three word answer' } }] });
        if (prompt === 'rate' && count === 1)
          return reply(429, { error: { message: 'slow down' } });
        if (prompt === 'bad')
          return reply(400, { error: { message: 'bad request from provider' } });
        if (prompt === 'hang' && count === 1) return; // never answers
        if (prompt === 'reset' && count === 1) {
          // headers and half a body, then the connection is gone
          res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '200' });
          res.write('{"choices":');
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        reply(200, completion);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await flush(REDIS);
    env = testEnv({
      REDIS_URL: REDIS,
      GENAI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      OPENAI_API_KEY: 'sk-test-never-logged',
      OPENAI_MODEL: 'test-model',
      OPENAI_TIMEOUT_MS: '500',
      QUEUE_BACKOFF_MS: '100',
      LOG_LEVEL: 'debug',
    });
    key = await createKey('frank', env);
    [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    user = client(api, key);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    server.closeAllConnections();
    server.close();
  });

  it('stores a completion with its usage', async () => {
    const { body } = await user.post({ prompt: 'hello' });
    expect(body.model).toBe('test-model');
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done).toMatchObject({
      result: 'echo: hello',
      usage: { promptTokens: 7, completionTokens: 3 },
      attempts: 1,
    });
    expect(authorization).toBe('Bearer sk-test-never-logged');
    // no maxTokens in the request: GENAI_DEFAULT_MAX_TOKENS is sent, never "as much as you like"
    expect(maxTokensSent.get('hello')).toBe(1024);
  });

  it('streams: the text from the deltas, the usage from the last chunk', async () => {
    const { body } = await user.post({ prompt: 'stream with usage' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done).toMatchObject({
      result: 'one two three',
      usage: { promptTokens: 11, completionTokens: 3 },
      attempts: 1,
    });
    expect(streamAsked.get('stream with usage')).toEqual([{ include_usage: true }]);
  });

  it('falls back to one plain call when a server refuses stream_options', async () => {
    const { body } = await user.post({ prompt: 'refuses stream options' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done).toMatchObject({ result: 'echo: refuses stream options', attempts: 1 });
    expect(streamAsked.get('refuses stream options')).toEqual([{ include_usage: true }, undefined]);
  });

  it('trips the idle timeout when a stream stalls, and retries the attempt', async () => {
    const { body } = await user.post({ prompt: 'stalls mid-stream' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done).toMatchObject({ result: 'answer', attempts: 2 });
    expect(seen.get('stalls mid-stream')).toBe(2);
    // the first attempt's reason, in the worker's log
    await worker.waitForLine((line) => JSON.stringify(line).includes('sent nothing for 500 ms'));
  });

  it('retries an error chunk in the stream', async () => {
    const { body } = await user.post({ prompt: 'error chunk' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done).toMatchObject({ result: 'echo: error chunk', attempts: 2 });
  });

  it('estimates the usage of a server that reports none, as the local provider counts', async () => {
    const { body } = await user.post({ prompt: 'no usage reported  here' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done).toMatchObject({
      result: 'three word answer',
      usage: { promptTokens: 4, completionTokens: 3 },
    });
  });

  it('runs only the allowed models: any other is a 400 before anything is stored', async () => {
    const response = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'enumerate', model: 'gpt-secret-preview' }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; errors: unknown[] };
    expect(body).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'model', messages: ['model must be one of test-model'] }],
    });
    expect(seen.has('enumerate')).toBe(false);
  });

  it('retries a 429 and succeeds', async () => {
    const { body } = await user.post({ prompt: 'rate' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done.attempts).toBe(2);
    expect(seen.get('rate')).toBe(2);
  });

  it('fails a 400 at once, keeping the error on the record', async () => {
    const { body } = await user.post({ prompt: 'bad' });
    const failed = await user.waitFor(String(body.id), ['failed']);
    expect(failed.attempts).toBe(1);
    // what the provider said is for the logs; the record says what happened
    expect(failed.error).toBe('Error calling provider: rejected the request (HTTP 400)');
    await worker.waitForLine((line) => JSON.stringify(line).includes('bad request from provider'));
    await sleep(500);
    expect(seen.get('bad')).toBe(1);
  });

  it('times out a hanging call and retries it', async () => {
    const { body } = await user.post({ prompt: 'hang' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done.attempts).toBe(2);
    expect(done.result).toBe('echo: hang');
  });

  it('retries a connection lost while reading the answer', async () => {
    const { body } = await user.post({ prompt: 'reset' });
    const done = await user.waitFor(String(body.id), ['succeeded']);
    expect(done.attempts).toBe(2);
    expect(done.result).toBe('echo: reset');
  });

  it('never logs the API key', () => {
    const dir = String(env.LOG_DIR);
    for (const service of ['api', 'worker']) {
      for (const file of logFiles(dir, service)) {
        expect(readFileSync(join(dir, service, file), 'utf8')).not.toContain(
          'sk-test-never-logged',
        );
      }
    }
    expect(worker.stdout()).not.toContain('sk-test-never-logged');
  });
});

describe('cancelling a running generation (openai provider, a server that takes its time)', () => {
  const REDIS = 'redis://127.0.0.1:6379/12';
  let server: Server;
  /** Per prompt: when each request arrived, and when its connection was cut by the client. */
  const arrived = new Map<string, number[]>();
  const aborted = new Map<string, number>();
  let api: Api;
  let worker: RunningProcess;
  let user: ReturnType<typeof client>;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
      req.on('end', () => {
        const prompt = (JSON.parse(raw) as { messages: Array<{ content: string }> }).messages[0]
          .content;
        arrived.set(prompt, [...(arrived.get(prompt) ?? []), Date.now()]);
        res.on('close', () => {
          if (!res.writableEnded) aborted.set(prompt, Date.now());
        });
        // "slow …" never answers by itself; "race <ms> …" answers after <ms>
        const delay = prompt.startsWith('race ') ? Number(prompt.split(' ')[1]) : undefined;
        if (delay === undefined) return;
        setTimeout(() => {
          if (res.destroyed) return;
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ choices: [{ message: { content: `echo: ${prompt}` } }] }));
        }, delay);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await flush(REDIS);
    const env = testEnv({
      REDIS_URL: REDIS,
      GENAI_PROVIDER: 'openai',
      OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
      OPENAI_MODEL: 'test-model',
      OPENAI_TIMEOUT_MS: '60000',
      QUEUE_BACKOFF_MS: '100',
    });
    const key = await createKey('carol', env);
    [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    user = client(api, key);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    server.closeAllConnections();
    server.close();
  });

  const whenArrived = async (prompt: string): Promise<void> => {
    const deadline = Date.now() + 15000;
    while (!arrived.has(prompt)) {
      if (Date.now() > deadline) throw new Error(`the provider never got "${prompt}"`);
      await sleep(20);
    }
  };

  it('answers cancelled at once, aborts the provider call within 2 s, and never retries it', async () => {
    const prompt = 'slow and then cancelled';
    const { body } = await user.post({ prompt });
    const id = String(body.id);
    await whenArrived(prompt);
    expect((await user.get(id)).body.status).toBe('running');

    const cancelledAt = Date.now();
    const cancel = await user.call('DELETE', `/api/v1/generations/${id}`);
    expect(cancel.status).toBe(200);
    expect(cancel.body).toMatchObject({ id, status: 'cancelled', result: null, attempts: 1 });
    expect(cancel.body.completedAt).toEqual(expect.any(String));

    const deadline = Date.now() + 5000;
    while (!aborted.has(prompt) && Date.now() < deadline) await sleep(20);
    expect(aborted.has(prompt)).toBe(true);
    expect(Number(aborted.get(prompt)) - cancelledAt).toBeLessThan(2000);
    await worker.waitForLine(
      (line) =>
        line.generationId === id && line.msg === 'generation cancelled; provider call aborted',
    );

    // well past the backoff: no second attempt, and the record is as the DELETE answered it
    await sleep(1500);
    expect(arrived.get(prompt)).toHaveLength(1);
    const { body: after } = await user.get(id);
    expect(after).toMatchObject({ status: 'cancelled', result: null, attempts: 1, error: null });
    const queue = new Queue('generations', REDIS);
    try {
      const job = await queue.getJob(id);
      expect(await job?.getState()).toBe('completed');
    } finally {
      await queue.close();
    }
    // and a second cancel answers the same
    const again = await user.call('DELETE', `/api/v1/generations/${id}`);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('cancelled');
  });

  it('ends a cancel racing the answer in one consistent state, whichever wins', async () => {
    const outcomes = new Set<string>();
    for (const delay of [0, 50, 100, 150, 200, 300]) {
      const prompt = `race ${delay} ${Math.random()}`;
      const { body } = await user.post({ prompt });
      const id = String(body.id);
      await whenArrived(prompt);
      await sleep(100);
      const cancel = await user.call('DELETE', `/api/v1/generations/${id}`);
      await sleep(1500);
      const { body: final } = await user.get(id);
      if (cancel.status === 200) {
        expect(final).toMatchObject({ status: 'cancelled', result: null });
      } else {
        expect(cancel.status).toBe(409);
        expect(final).toMatchObject({ status: 'succeeded', result: `echo: ${prompt}` });
      }
      expect(arrived.get(prompt)).toHaveLength(1);
      outcomes.add(String(final.status));
    }
    // both sides of the race were seen
    expect([...outcomes].sort()).toEqual(['cancelled', 'succeeded']);
  });
});

describe('attempts bounded by JOB_TIMEOUT_MS', () => {
  it('fails an attempt that runs too long, retries it, then fails the generation with the reason', async () => {
    const REDIS = 'redis://127.0.0.1:6379/13';
    await flush(REDIS);
    const env = testEnv({
      REDIS_URL: REDIS,
      LOCAL_PROVIDER_DELAY_MS: '3000',
      JOB_TIMEOUT_MS: '300',
      QUEUE_ATTEMPTS: '2',
      QUEUE_BACKOFF_MS: '100',
    });
    const key = await createKey('heidi', env);
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      const user = client(api, key);
      const { body } = await user.post({ prompt: 'too slow' });
      const failed = await user.waitFor(String(body.id), ['failed'], 30000);
      expect(failed.attempts).toBe(2);
      expect(failed.error).toBe('Error generating text: the attempt took longer than 300 ms');
      expect(failed.result).toBeNull();
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });
});

describe('worker killed mid-job', () => {
  it('loses nothing: a new worker finishes the generation, with one result', async () => {
    const REDIS = 'redis://127.0.0.1:6379/9';
    await flush(REDIS);
    const env = testEnv({
      REDIS_URL: REDIS,
      LOCAL_PROVIDER_DELAY_MS: '2500',
      QUEUE_LOCK_DURATION_MS: '1000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    });
    const key = await createKey('grace', env);
    const api = await startApi(env);
    const first = await startWorker(env);
    let second: RunningProcess | undefined;
    try {
      const user = client(api, key);
      const { body } = await user.post({ prompt: 'survive a SIGKILL' });
      await user.waitFor(String(body.id), ['running']);
      first.proc.kill('SIGKILL');
      await first.waitForExit();
      second = await startWorker(env);
      const done = await user.waitFor(String(body.id), ['succeeded'], 30000);
      expect(done.result).toMatch(/^\[local-dev-echo\]/);
      const { rows } = await db.query('SELECT status, result FROM generations WHERE id = $1', [
        body.id,
      ]);
      expect(rows).toHaveLength(1);
      expect(rows[0].status).toBe('succeeded');
    } finally {
      await Promise.all([api.stop(), second?.stop()]);
    }
  });
});

function withDeadline<T>(work: Promise<T>, ms: number, api: Api): Promise<T> {
  return Promise.race([
    work,
    new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`no answer within ${ms} ms\n${api.stdout().slice(-4000)}`)),
        ms,
      ),
    ),
  ]);
}
