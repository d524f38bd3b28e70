import { createApiKey } from '../../../test/support/api-keys';
import { OpenStream, StreamEvent, openStream } from '../../../test/support/event-stream';
import { RunningProcess, sleep, startApi, startWorker } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';
import Redis from 'ioredis';

type Api = RunningProcess & { url: string };

const REDIS = 'redis://127.0.0.1:6379/12';

/**
 * Event streams (SPEC §14) against real processes: two api replicas and a worker on one Redis
 * and PostgreSQL, the local provider streaming its text in four chunks.
 */
describe('generation event streams (SSE) across api replicas', () => {
  const env = testEnv({
    REDIS_URL: REDIS,
    LOCAL_PROVIDER_DELAY_MS: '1600',
    GENERATIONS_MAX_STREAMS: '10',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
  });
  let a: Api;
  let b: Api;
  let worker: RunningProcess | undefined;
  let key: string;
  let otherKey: string;
  const streams: OpenStream[] = [];
  const queued: Array<{ id: string; key: string }> = [];

  const auth = (k = key) => ({ Authorization: `Bearer ${k}` });
  const post = async (api: Api, prompt: string, as = key): Promise<string> => {
    const response = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { ...auth(as), 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt }),
    });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    queued.push({ id, key: as });
    return id;
  };
  const open = async (api: Api, id: string, headers: Record<string, string> = {}) => {
    const stream = await openStream(`${api.url}/api/v1/generations/${id}/events`, {
      ...auth(),
      ...headers,
    });
    streams.push(stream);
    return stream;
  };
  const parsed = (event: StreamEvent) => JSON.parse(String(event.data)) as Record<string, unknown>;

  beforeAll(async () => {
    const redis = new Redis(REDIS);
    await redis.flushdb();
    await redis.quit();
    [key, otherKey] = await Promise.all([
      createApiKey(env, '--user', 'sse-reader'),
      createApiKey(env, '--user', 'sse-other'),
    ]);
    [a, b] = await Promise.all([startApi(env), startApi(env)]);
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    // nothing of this suite stays queued for another suite's worker to find
    for (const { id, key: owner } of queued)
      await fetch(`${a.url}/api/v1/generations/${id}`, { method: 'DELETE', headers: auth(owner) });
    await Promise.all([a?.stop(), b?.stop(), worker?.stop()]);
  });

  it('keeps an idle stream open with a comment line every 15 s, and no event', async () => {
    // before any worker runs: the generation stays queued
    const id = await post(a, 'nothing happens for a while');
    const stream = await open(a, id);
    await stream.waitForEvents(1);
    expect(stream.comments).toEqual([]);
    await sleep(15_500);
    expect(stream.comments).toEqual([': keep-alive']);
    expect(stream.events).toHaveLength(1);
  });

  it('streams status queued → running, the text as deltas, then done — from the replica the POST did not reach', async () => {
    const id = await post(a, 'stream this to me');
    const stream = await open(b, id);
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.headers.get('x-accel-buffering')).toBe('no');
    expect(stream.headers.get('x-request-id')).toEqual(expect.any(String));
    await stream.waitForEvents(1);
    // no worker yet: the generation is queued
    expect(stream.events[0]).toMatchObject({ event: 'status', id: '0' });
    expect(parsed(stream.events[0])).toEqual({
      id,
      status: 'queued',
      attempts: 0,
      startedAt: null,
      completedAt: null,
    });
    worker = await startWorker(env);
    await stream.ended;
    const [, running, ...rest] = stream.events;
    expect(running.event).toBe('status');
    expect(parsed(running)).toMatchObject({ id, status: 'running', attempts: 1 });
    expect(parsed(running).startedAt).toEqual(expect.any(String));
    const deltas = rest.filter((event) => event.event === 'delta');
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(deltas.map((event) => parsed(event).index)).toEqual(deltas.map((_, index) => index));
    expect(deltas.every((event) => parsed(event).attempt === 1)).toBe(true);
    const done = rest[rest.length - 1];
    expect(done.event).toBe('done');
    expect(rest).toHaveLength(deltas.length + 1);
    const final = parsed(done);
    expect(final).toMatchObject({ id, status: 'succeeded' });
    expect(deltas.map((event) => parsed(event).text).join('')).toBe(final.result);
    // no event repeats an id, and none carries the prompt except the final generation
    const ids = stream.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const event of stream.events.slice(0, -1))
      expect(String(event.data)).not.toContain('stream this to me');

    // resumed after the second event: the rest, no repeats
    const resumed = await open(a, id, { 'Last-Event-ID': String(running.id) });
    await resumed.ended;
    expect(resumed.events).toEqual(rest);

    // Last-Event-ID 0: every stored event
    const everything = await open(b, id, { 'Last-Event-ID': '0' });
    await everything.ended;
    expect(everything.events).toEqual([running, ...rest]);

    // finished, without Last-Event-ID: one done at once
    const late = await open(a, id);
    await late.ended;
    expect(late.events).toHaveLength(1);
    expect(late.events[0].event).toBe('done');
    expect(parsed(late.events[0])).toEqual(final);
  });

  it("answers 404 for another user's generation, and 401 without a key", async () => {
    const id = await post(a, 'mine alone');
    const other = await openStream(`${b.url}/api/v1/generations/${id}/events`, auth(otherKey));
    expect(other.status).toBe(404);
    expect(JSON.parse(await other.text())).toMatchObject({ code: 'NOT_FOUND' });
    const anonymous = await openStream(`${b.url}/api/v1/generations/${id}/events`, {});
    expect(anonymous.status).toBe(401);
  });

  it('ends the stream with done when the generation is cancelled while running', async () => {
    const id = await post(a, 'cancel me while I stream');
    const stream = await open(b, id);
    const deadline = Date.now() + 10_000;
    while (!stream.events.some((event) => event.event === 'delta') && Date.now() < deadline)
      await sleep(20);
    const cancel = await fetch(`${a.url}/api/v1/generations/${id}`, {
      method: 'DELETE',
      headers: auth(),
    });
    expect(cancel.status).toBe(200);
    await stream.ended;
    const done = stream.events[stream.events.length - 1];
    expect(done.event).toBe('done');
    expect(parsed(done)).toMatchObject({ id, status: 'cancelled', result: null });
  });

  it("caps a key's open streams across replicas: the 11th is 429 QUOTA_EXCEEDED, a closed one frees a slot", async () => {
    await worker?.stop();
    worker = undefined;
    const id = await post(a, 'watched by many'); // no worker: it stays queued
    const open10 = await Promise.all(
      Array.from({ length: 10 }, (_, index) => open(index % 2 ? a : b, id)),
    );
    expect(open10.map((stream) => stream.status)).toEqual(Array(10).fill(200));
    const eleventh = await openStream(`${a.url}/api/v1/generations/${id}/events`, auth());
    expect(eleventh.status).toBe(429);
    expect(JSON.parse(await eleventh.text())).toMatchObject({ code: 'QUOTA_EXCEEDED' });
    const fromB = await openStream(`${b.url}/api/v1/generations/${id}/events`, auth());
    expect(fromB.status).toBe(429);
    // another key is not affected
    const theirs = await post(a, 'their own', otherKey);
    const others = await openStream(`${a.url}/api/v1/generations/${theirs}/events`, auth(otherKey));
    streams.push(others);
    expect(others.status).toBe(200);
    open10[0].close();
    const deadline = Date.now() + 5000;
    let again: OpenStream;
    do {
      await sleep(100);
      again = await open(b, id);
    } while (again.status !== 200 && Date.now() < deadline);
    expect(again.status).toBe(200);
  });
});

describe('event streams at shutdown', () => {
  it('ends an open stream with a retry hint when the drain delay ends, and exits 0', async () => {
    const env = testEnv({ REDIS_URL: REDIS, SHUTDOWN_DRAIN_DELAY_MS: '1500' });
    const key = await createApiKey(env, '--user', 'sse-shutdown');
    const api = await startApi(env);
    const response = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'never run: no worker' }),
    });
    const { id } = (await response.json()) as { id: string };
    const stream = await openStream(`${api.url}/api/v1/generations/${id}/events`, {
      Authorization: `Bearer ${key}`,
    });
    await stream.waitForEvents(1);
    const signalledAt = Date.now();
    const exited = api.stop('SIGTERM');
    await stream.ended;
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(1400);
    expect(stream.events.map((event) => event.event ?? `retry ${event.retry}`)).toEqual([
      'status',
      'retry 1000',
    ]);
    expect(await exited).toBe(0);
    // not left queued for another suite's worker
    const cleanup = await startApi(env);
    await fetch(`${cleanup.url}/api/v1/generations/${id}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${key}` },
    });
    await cleanup.stop();
  });
});
