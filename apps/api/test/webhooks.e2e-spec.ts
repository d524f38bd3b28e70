import { createApiKey } from '../../../test/support/api-keys';
import { logFiles, readLog } from '../../../test/support/log-files';
import { PrivateRedis } from '../../../test/support/private-redis';
import {
  RunningProcess,
  sleep,
  startApi,
  startWorker,
  workerHealthUrl,
} from '../../../test/support/processes';
import { parseMetrics, valueOf } from '../../../test/support/prometheus';
import { testEnv } from '../../../test/support/test-env';
import { resetTestStores } from '../../../test/support/test-stores';
import { ReceivedWebhook, WebhookReceiver } from '../../../test/support/webhook-receiver';
import Redis from 'ioredis';
import { Server, createServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';

type Api = RunningProcess & { url: string };
type View = Record<string, unknown> & {
  id: string;
  status: string;
  callback: { url: string; state: string; attempts: number; lastStatus: number | null } | null;
};

/** Its own database: no other suite's worker may run (or deliver) these generations. */
const DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_webhooks';
/** Two keys, as during a rotation: every delivery must verify with either. */
const SECRET_A = `whsec_${randomBytes(32).toString('base64')}`;
const SECRET_B = `whsec_${randomBytes(24).toString('base64')}`;

/**
 * The openai provider's server for this suite: a Chat Completions stream for most prompts, a
 * 400 (a final failure) for `fail`, and a stream that stalls for `slow` (to be cancelled).
 */
async function startProvider(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const prompt = (JSON.parse(raw) as { messages: Array<{ content: string }> }).messages[0]
        .content;
      if (prompt === 'fail') {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'refused by the stub' } }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'done ' } }] })}\n\n`,
      );
      if (prompt === 'slow') return; // never ends: the client cancels it
      res.write(
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: prompt } }] })}\n\n`,
      );
      res.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } })}\n\n`,
      );
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` };
}

/** Every log file the api and the worker wrote, and what they printed, as one text. */
function allLogs(dir: string, processes: RunningProcess[]): string {
  const files = ['api', 'worker'].flatMap((service) =>
    logFiles(dir, service).map((name) => join(dir, service, name)),
  );
  expect(files.length).toBeGreaterThanOrEqual(6);
  return [
    ...files.map((file) => readFileSync(file, 'utf8')),
    ...processes.map((proc) => proc.stdout() + proc.stderr()),
  ].join('\n');
}

/**
 * Completion webhooks (SPEC §14) end to end: a real api and worker on a Redis of their own and
 * a database of their own, the openai provider against a streaming stub, a receiver on
 * loopback (outside production, so loopback is allowed), short backoffs.
 */
describe('completion webhooks', () => {
  let redis: PrivateRedis;
  let provider: { server: Server; url: string };
  let receiver: WebhookReceiver;
  let env: NodeJS.ProcessEnv;
  let api: Api;
  let worker: RunningProcess | undefined;
  let key: string;
  const stopped: RunningProcess[] = [];

  const auth = () => ({ Authorization: `Bearer ${key}` });
  const post = async (body: object): Promise<Response> =>
    fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
  const create = async (prompt: string, path: string): Promise<View> => {
    const response = await post({ prompt, callbackUrl: receiver.url(path) });
    expect(response.status).toBe(202);
    return (await response.json()) as View;
  };
  const get = async (id: string): Promise<View> =>
    (await (
      await fetch(`${api.url}/api/v1/generations/${id}`, { headers: auth() })
    ).json()) as View;
  /** Polls until the generation's callback reaches `state`. */
  const callbackOf = async (id: string, state: string, timeoutMs = 20000): Promise<View> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await get(id);
      if (view.callback?.state === state) return view;
      if (Date.now() > deadline)
        throw new Error(`callback of ${id} is ${JSON.stringify(view.callback)}, not ${state}`);
      await sleep(100);
    }
  };
  /** Verified with each key of the rotation, by the scheme's reference implementation. */
  const verify = (request: ReceivedWebhook) => {
    const headers = request.headers as Record<string, string>;
    const payloads = [SECRET_A, SECRET_B].map((secret) =>
      new Webhook(secret).verify(request.body, headers),
    );
    expect(payloads[0]).toEqual(payloads[1]);
    return payloads[0] as { type: string; timestamp: string; data: View };
  };

  beforeAll(async () => {
    [redis, provider, receiver] = await Promise.all([
      PrivateRedis.start(),
      startProvider(),
      WebhookReceiver.start(),
    ]);
    await resetTestStores(DATABASE_URL);
    env = testEnv({
      DATABASE_URL,
      REDIS_URL: redis.url,
      GENAI_PROVIDER: 'openai',
      OPENAI_BASE_URL: provider.url,
      OPENAI_MODEL: 'stub-model',
      QUEUE_ATTEMPTS: '1',
      WEBHOOK_SECRET: `${SECRET_A} ${SECRET_B}`,
      WEBHOOK_ATTEMPTS: '4',
      WEBHOOK_BACKOFF_MS: '1000',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
    });
    key = await createApiKey(env, '--user', 'webhook-user');
    [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([redis?.down(), receiver?.close()]);
    provider?.server.close();
  });

  it('delivers one signed webhook per finished generation — succeeded, failed, cancelled — with a stable id', async () => {
    const succeeded = await create('hello', '/ok');
    expect(succeeded.callback).toEqual({
      url: receiver.url('/ok'),
      state: 'pending',
      attempts: 0,
      lastStatus: null,
    });
    const failed = await create('fail', '/ok');
    const slow = await create('slow', '/ok');
    // running, then cancelled by its client
    for (let view = await get(slow.id); view.status !== 'running'; view = await get(slow.id))
      await sleep(50);
    const cancel = await fetch(`${api.url}/api/v1/generations/${slow.id}`, {
      method: 'DELETE',
      headers: auth(),
    });
    expect(cancel.status).toBe(200);

    const requests = await receiver.waitFor('/ok', 3);
    const byId = new Map(requests.map((request) => [verify(request).data.id, request]));
    expect([...byId.keys()].sort()).toEqual([succeeded.id, failed.id, slow.id].sort());
    const expectations: Array<[View, string]> = [
      [succeeded, 'generation.succeeded'],
      [failed, 'generation.failed'],
      [slow, 'generation.cancelled'],
    ];
    for (const [generation, type] of expectations) {
      const request = byId.get(generation.id) as ReceivedWebhook;
      const envelope = verify(request);
      const final = await callbackOf(generation.id, 'delivered');
      expect(envelope.type).toBe(type);
      // data is the generation as GET shows it, without the delivery's own state
      const { callback, ...view } = final;
      expect(envelope.data).toEqual(view);
      expect(envelope.timestamp).toBe(final.completedAt);
      expect(callback).toEqual({
        url: receiver.url('/ok'),
        state: 'delivered',
        attempts: 1,
        lastStatus: 200,
      });
      expect(request.headers['webhook-id']).toBe(`msg_${generation.id}`);
      expect(request.headers['content-type']).toBe('application/json');
      expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    }
    expect(byId.get(succeeded.id)?.body).toContain('"result":"done hello"');
    // nothing more arrives: one delivery each
    await sleep(1500);
    expect(receiver.at('/ok')).toHaveLength(3);
  });

  it('retries 500, 500, then 200: three attempts, one webhook-id, each signed afresh', async () => {
    receiver.respond('/flaky', (_, n) => ({ status: n <= 2 ? 500 : 200 }));
    const generation = await create('flaky receiver', '/flaky');
    const attempts = await receiver.waitFor('/flaky', 3);
    const final = await callbackOf(generation.id, 'delivered');
    expect(final.callback).toMatchObject({ attempts: 3, lastStatus: 200 });
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(
      new Set([`msg_${generation.id}`]),
    );
    // the same body, a new timestamp and signature per attempt (backoff 1 s, then 2 s)
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.headers['webhook-timestamp'])).size).toBe(3);
    expect(new Set(attempts.map((a) => a.headers['webhook-signature'])).size).toBe(3);
    for (const attempt of attempts) verify(attempt);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(900);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(1900);
    await sleep(1500);
    expect(receiver.at('/flaky')).toHaveLength(3);
  });

  it("honours a 429's Retry-After, and retries a connection closed without an answer", async () => {
    receiver.respond('/busy', (_, n) =>
      n === 1
        ? { status: 429, headers: { 'Retry-After': '3' } }
        : n === 2
          ? 'hang-up'
          : { status: 204 },
    );
    const generation = await create('busy receiver', '/busy');
    const attempts = await receiver.waitFor('/busy', 3, 30000);
    // 3 s as the receiver asked (not the 1 s backoff), then the backoff after the hang-up
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(2900);
    const final = await callbackOf(generation.id, 'delivered');
    expect(final.callback).toMatchObject({ attempts: 3, lastStatus: 204 });
  });

  it('gives an attempt 10 s, then retries a receiver that never answered', async () => {
    receiver.respond('/stalled', (_, n) => (n === 1 ? 'stall' : { status: 200 }));
    const generation = await create('stalled receiver', '/stalled');
    const attempts = await receiver.waitFor('/stalled', 2, 30000);
    const gap = attempts[1].at - attempts[0].at;
    // the 10 s timeout, then the 1 s backoff
    expect(gap).toBeGreaterThanOrEqual(10_500);
    expect(gap).toBeLessThan(20_000);
    expect((await callbackOf(generation.id, 'delivered')).callback).toMatchObject({
      attempts: 2,
      lastStatus: 200,
    });
    const timedOut = (worker as RunningProcess)
      .lines()
      .find(
        (line) =>
          line.generationId === generation.id && line.msg === 'webhook attempt failed; will retry',
      );
    expect(timedOut).toMatchObject({ attempt: 1, status: null, reason: 'no answer within 10 s' });
  });

  it('fails at once on a 400, and never follows a redirect', async () => {
    receiver.respond('/gone', () => ({ status: 400 }));
    receiver.respond('/moved', () => ({ status: 302, headers: { Location: '/elsewhere' } }));
    const refused = await create('receiver refuses', '/gone');
    const moved = await create('receiver moved', '/moved');
    expect((await callbackOf(refused.id, 'failed')).callback).toMatchObject({
      attempts: 1,
      lastStatus: 400,
    });
    expect((await callbackOf(moved.id, 'failed')).callback).toMatchObject({
      attempts: 1,
      lastStatus: 302,
    });
    await sleep(2500);
    expect(receiver.at('/gone')).toHaveLength(1);
    expect(receiver.at('/moved')).toHaveLength(1);
    expect(receiver.at('/elsewhere')).toHaveLength(0);
  });

  it('gives up after WEBHOOK_ATTEMPTS answers of 503', async () => {
    receiver.respond('/down', () => ({ status: 503 }));
    const generation = await create('receiver down', '/down');
    const final = await callbackOf(generation.id, 'failed', 30000);
    expect(final.callback).toMatchObject({ attempts: 4, lastStatus: 503 });
    expect(receiver.at('/down')).toHaveLength(4);
  });

  it('still delivers when Redis lost the delivery between the final transition and the attempt: the reconciler queues it again', async () => {
    await worker?.stop();
    if (worker) stopped.push(worker);
    worker = undefined;
    const generation = await create('lost in redis', '/lost');
    // cancelled in the api (its final transition queues the delivery), then Redis loses it
    const cancel = await fetch(`${api.url}/api/v1/generations/${generation.id}`, {
      method: 'DELETE',
      headers: auth(),
    });
    expect(cancel.status).toBe(200);
    await sleep(300);
    const client = new Redis(redis.url);
    expect(await client.keys('bull:webhooks:*')).not.toHaveLength(0);
    await client.flushall();
    await client.quit();
    // the reconciler's grace (10 s) past the generation's end, then a worker starts
    await sleep(10500);
    worker = await startWorker(env);
    const [request] = await receiver.waitFor('/lost', 1, 20000);
    expect(verify(request)).toMatchObject({
      type: 'generation.cancelled',
      data: { id: generation.id },
    });
    expect((await callbackOf(generation.id, 'delivered')).callback?.attempts).toBe(1);
    await worker.waitForLine(
      (line) => line.msg === 're-queued webhook deliveries whose job was missing',
    );
  });

  it('counts deliveries by outcome, lists the webhooks queue in Bull Board, and logs attempts without bodies or the secret', async () => {
    const { samples } = parseMetrics(
      await (await fetch(`${workerHealthUrl(worker as RunningProcess)}/metrics`)).text(),
    );
    // this worker process delivered the reconciled one
    expect(
      valueOf(samples, 'webhook_deliveries_total', { outcome: 'delivered' }),
    ).toBeGreaterThanOrEqual(1);
    const queues = (await (await fetch(`${api.url}/admin/queues/api/queues`)).json()) as {
      queues: Array<{ name: string }>;
    };
    expect(queues.queues.map((queue) => queue.name)).toContain('webhooks');

    const workerLines = readLog(String(env.LOG_DIR), 'worker', 'app');
    const attempts = workerLines.filter((line) =>
      [
        'webhook delivered',
        'webhook attempt failed; will retry',
        'webhook delivery failed',
      ].includes(String(line.msg)),
    );
    expect(attempts.length).toBeGreaterThanOrEqual(10);
    for (const line of attempts) {
      expect(line).toEqual(
        expect.objectContaining({
          generationId: expect.any(String),
          attempt: expect.any(Number),
          durationMs: expect.any(Number),
          receiver: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/[a-z]+$/),
        }),
      );
      expect(JSON.stringify(line)).not.toContain('"data"');
      expect(JSON.stringify(line)).not.toContain('done hello');
    }
    const text = allLogs(String(env.LOG_DIR), [api, worker as RunningProcess, ...stopped]);
    for (const secret of [SECRET_A, SECRET_B])
      expect(text).not.toContain(secret.slice('whsec_'.length));
  });
});
