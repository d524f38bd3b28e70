import { createApiKey } from '../../../test/support/api-keys';
import { TestDnsServer } from '../../../test/support/dns-server';
import { PrivateRedis } from '../../../test/support/private-redis';
import { RunningProcess, sleep, startApi, startWorker } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';
import { resetTestStores } from '../../../test/support/test-stores';
import { WebhookReceiver } from '../../../test/support/webhook-receiver';
import { randomBytes } from 'node:crypto';

type Api = RunningProcess & { url: string };

const DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_webhook_receivers';
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
/** A public address the test never sends to: names resolve to it at POST time only. */
const PUBLIC_ADDRESS = '93.184.215.14';

/**
 * Which receivers production accepts (SPEC §14): decided from the address alone, after
 * resolving the name through the test's own DNS server — and again at delivery, when the name
 * now resolves to loopback (DNS rebinding). Every address refused here is one the test listens
 * on or could not reach: no connection may be opened to any of them.
 */
describe('webhook receivers in production', () => {
  let redis: PrivateRedis;
  let dns: TestDnsServer;
  let receiver: WebhookReceiver;
  let api: Api;
  let worker: RunningProcess;
  let key: string;
  let env: NodeJS.ProcessEnv;

  const post = (callbackUrl: string, as = api) =>
    fetch(`${as.url}/api/v1/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'tell me when done', callbackUrl }),
    });
  const refusal = async (response: Response) => {
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const body = (await response.json()) as {
      code: string;
      errors: Array<{ field: string; messages: string[] }>;
    };
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.errors).toHaveLength(1);
    expect(body.errors[0].field).toBe('callbackUrl');
    return body.errors[0].messages[0];
  };

  beforeAll(async () => {
    [redis, dns, receiver] = await Promise.all([
      PrivateRedis.start(),
      TestDnsServer.start(),
      WebhookReceiver.start(),
    ]);
    dns.set('private.hooks.test', '10.20.30.40');
    dns.set('mixed.hooks.test', PUBLIC_ADDRESS, '127.0.0.1');
    dns.set('mapped.hooks.test', '::ffff:127.0.0.1');
    dns.set('ula.hooks.test', 'fd00::5');
    dns.set('rebind.hooks.test', PUBLIC_ADDRESS);
    await resetTestStores(DATABASE_URL);
    env = testEnv({
      ENVIRONMENT: 'production',
      DATABASE_URL,
      REDIS_URL: redis.url,
      WEBHOOK_SECRET: SECRET,
      WEBHOOK_DNS_SERVERS: dns.address,
      LOCAL_PROVIDER_DELAY_MS: '1500',
      SHUTDOWN_DRAIN_DELAY_MS: '0',
      RATE_LIMIT_PER_MINUTE: '1000',
      KEY_RATE_LIMIT_PER_MINUTE: '1000',
      GENERATIONS_PER_MINUTE: '1000',
    });
    key = await createApiKey(env, '--user', 'receiver-rules');
    [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all([redis?.down(), receiver?.close()]);
    dns?.close();
  });

  it('refuses loopback, private, link-local, CGNAT, unspecified and metadata receivers — literal or by name — without connecting', async () => {
    const port = receiver.port;
    const literals = [
      `https://127.0.0.1:${port}/hook`,
      `https://[::ffff:127.0.0.1]:${port}/hook`,
      `https://[::ffff:7f00:1]:${port}/hook`,
      `https://[::1]:${port}/hook`,
      `https://[::127.0.0.1]:${port}/hook`,
      `https://0.0.0.0:${port}/hook`,
      'https://[::]/hook',
      'https://169.254.169.254/latest/meta-data/',
      'https://100.100.100.200/latest/meta-data/',
      'https://100.64.0.1/hook',
      'https://10.0.0.1/hook',
      'https://172.16.5.4/hook',
      'https://192.168.1.1/hook',
      'https://[fd00::1]/hook',
      'https://[fe80::1]/hook',
      'https://224.0.0.1/hook',
      `https://2130706433:${port}/hook`,
      `https://0x7f.1:${port}/hook`,
      `https://localhost:${port}/hook`,
    ];
    for (const url of literals) {
      expect([url, await refusal(await post(url))]).toEqual([
        url,
        "callbackUrl's host must be a public address",
      ]);
    }
    for (const name of ['private', 'mixed', 'mapped', 'ula']) {
      const url = `https://${name}.hooks.test:${port}/hook`;
      expect([url, await refusal(await post(url))]).toEqual([
        url,
        "callbackUrl's host must be a public address",
      ]);
    }
    // the names went through the test's DNS server, and nothing connected anywhere
    expect(dns.queries).toEqual(
      expect.arrayContaining(['private.hooks.test/A', 'ula.hooks.test/AAAA']),
    );
    expect(receiver.connections).toBe(0);
  });

  it('refuses http, credentials, names that do not resolve and URLs over 2,048 characters', async () => {
    expect(await refusal(await post(`http://rebind.hooks.test/hook`))).toBe(
      'callbackUrl must be an https:// URL',
    );
    expect(await refusal(await post('https://user:pass@rebind.hooks.test/hook'))).toBe(
      'callbackUrl must not carry a user name or password',
    );
    expect(await refusal(await post('https://missing.hooks.test/hook'))).toBe(
      "callbackUrl's host could not be resolved (no such host)",
    );
    expect(await refusal(await post('not a url'))).toBe('callbackUrl must be an absolute URL');
    const long = `https://rebind.hooks.test/${'a'.repeat(2048)}`;
    expect(await refusal(await post(long))).toBe('callbackUrl must be at most 2048 characters');
    const body = await (
      await fetch(`${api.url}/api/v1/generations`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ prompt: 'x', callbackUrl: 42 }),
      })
    ).json();
    expect(body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
  });

  it('accepts a public receiver, and at delivery refuses it when its name now resolves to loopback (DNS rebinding): no connection', async () => {
    const response = await post(`https://rebind.hooks.test:${receiver.port}/hook?token=abc`);
    expect(response.status).toBe(202);
    const created = (await response.json()) as { id: string; callback: unknown };
    expect(created.callback).toEqual({
      url: `https://rebind.hooks.test:${receiver.port}/hook?token=abc`,
      state: 'pending',
      attempts: 0,
      lastStatus: null,
    });
    // the generation runs for 1.5 s; by its end the name points at the receiver's loopback
    dns.set('rebind.hooks.test', '127.0.0.1');
    const line = await worker.waitForLine(
      (l) => l.msg === 'webhook delivery failed: receiver refused',
      20000,
    );
    expect(line).toMatchObject({
      generationId: created.id,
      reason: "callbackUrl's host must be a public address",
      receiver: `https://rebind.hooks.test:${receiver.port}/hook`,
    });
    const view = (await (
      await fetch(`${api.url}/api/v1/generations/${created.id}`, {
        headers: { Authorization: `Bearer ${key}` },
      })
    ).json()) as { status: string; callback: unknown };
    expect(view).toMatchObject({
      status: 'succeeded',
      callback: { state: 'failed', attempts: 0, lastStatus: null },
    });
    await sleep(500);
    expect(receiver.connections).toBe(0);
    // the query string (it may hold a token) is in no log line
    expect(worker.stdout()).not.toContain('token=abc');
  });

  it('refuses any callbackUrl when WEBHOOK_SECRET is not set', async () => {
    const withoutSecret = { ...env };
    delete withoutSecret.WEBHOOK_SECRET;
    const unsigned = await startApi(withoutSecret);
    try {
      expect(await refusal(await post('https://rebind.hooks.test/hook', unsigned))).toBe(
        'webhooks are not configured on this server (no WEBHOOK_SECRET)',
      );
    } finally {
      await unsigned.stop();
    }
  });
});
