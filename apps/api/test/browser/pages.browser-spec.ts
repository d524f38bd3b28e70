import Redis from 'ioredis';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Browser, Page, chromium } from 'playwright-core';
import {
  CLI_MAIN,
  ROOT,
  RunningProcess,
  runToExit,
  startApi,
} from '../../../../test/support/processes';
import { tempDir, testEnv } from '../../../../test/support/test-env';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const USER = 'ops';
const PASSWORD = 'board-pass-123';

let browser: Browser;
let api: RunningProcess & { url: string };
let generationId: string;
let key: string;
/** A web app's page on its own origin (CORS_ORIGINS lets it call the api). */
let appPage: Server;
let appOrigin: string;

/** Everything the page reports about its Content-Security-Policy, and any page error. */
async function watch(page: Page): Promise<string[]> {
  const problems: string[] = [];
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy|Refused to/i.test(message.text()))
      problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // Runs in the page: collects every securitypolicyviolation event.
  await page.addInitScript(`
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__csp.push(event.violatedDirective + ' ' + event.blockedURI);
    });
  `);
  return problems;
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate<string[]>('window.__csp || []');
}

beforeAll(async () => {
  const redis = new Redis('redis://127.0.0.1:6379/11');
  await redis.flushdb();
  await redis.quit();
  appPage = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>a client</title>');
  });
  await new Promise<void>((resolve) => appPage.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(appPage.address() as AddressInfo).port}`;
  const env = testEnv({
    CORS_ORIGINS: appOrigin,
    BULL_BOARD_USERNAME: USER,
    BULL_BOARD_PASSWORD: PASSWORD,
    REDIS_URL: 'redis://127.0.0.1:6379/11',
  });
  const created = await runToExit(CLI_MAIN, ['apikey:create', '--user', 'browser'], env);
  key = created.stdout.trimEnd().split('\n').pop() as string;
  api = await startApi(env);
  // No worker runs here: the job waits in the queue for the dashboard to show it.
  const response = await fetch(`${api.url}/api/v1/generations`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: 'shown in the dashboard' }),
  });
  generationId = ((await response.json()) as { id: string }).id;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  appPage?.close();
});

describe('Bull Board in a real browser', () => {
  it('asks for credentials: 401 with WWW-Authenticate: Basic without them', async () => {
    const page = await browser.newPage();
    const seen = page.waitForResponse((r) => r.url().endsWith('/admin/queues'));
    // Headless Chromium cannot show the login prompt, so the navigation itself fails.
    await page.goto(`${api.url}/admin/queues`).catch(() => null);
    const response = await seen;
    expect(response.status()).toBe(401);
    expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
    await page.close();
  });

  it('shows the generations queue and its waiting job, with no CSP violation', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: USER, password: PASSWORD },
    });
    const page = await context.newPage();
    const problems = await watch(page);
    const response = await page.goto(`${api.url}/admin/queues`);
    expect(response?.status()).toBe(200);
    await page.getByText('generations', { exact: false }).first().waitFor({ timeout: 20000 });

    await page.goto(`${api.url}/admin/queues/queue/generations?status=waiting`);
    await page.getByText(generationId, { exact: false }).first().waitFor({ timeout: 20000 });
    await page.screenshot({ path: join(tempDir('shots'), 'bull-board.png') });

    expect(await violations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await context.close();
  });
});

describe('Swagger UI in a real browser', () => {
  it('renders the API with every route, with no CSP violation', async () => {
    const page = await browser.newPage();
    const problems = await watch(page);
    await page.goto(`${api.url}/api/docs`);
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 20000 });
    expect(await page.locator('.swagger-ui .info .title').innerText()).toContain(
      'Rocket Launch GenAI Platform',
    );
    for (const path of [
      '/api/v1/generations',
      '/api/v1/generations/{id}',
      '/api/v1/generations/{id}/events',
      '/api/v1/me',
      '/health/ready',
    ]) {
      await page
        .locator(`.opblock-summary-path[data-path="${path}"]`)
        .first()
        .waitFor({ timeout: 10000 });
    }
    expect(await violations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('serves an OpenAPI document that passes redocly lint', async () => {
    const document = await (await fetch(`${api.url}/api/docs-json`)).text();
    const file = join(tempDir('openapi'), 'openapi.json');
    writeFileSync(file, document);
    const output = execFileSync(
      join(ROOT, 'node_modules/.bin/redocly'),
      ['lint', file, '--format=stylish'],
      {
        cwd: ROOT,
        encoding: 'utf8',
      },
    );
    // redocly exits non-zero on any error (execFileSync would throw); warnings are allowed.
    expect(output).not.toMatch(/\berror\b/);
    const parsed = JSON.parse(document) as {
      components: {
        schemas: Record<string, unknown>;
        securitySchemes: Record<string, unknown>;
        headers: Record<string, { description: string }>;
      };
      paths: Record<string, Record<string, { responses: Record<string, { headers?: object }> }>>;
    };
    // the usage report and its schema; the rate-limit fields on every /api/v1 answer
    const usage = parsed.paths['/api/v1/usage'].get.responses['200'];
    expect(JSON.stringify(usage)).toContain('#/components/schemas/UsageView');
    expect(JSON.stringify(parsed.components.schemas.UsageView)).toContain('UsageDayView');
    expect(Object.keys(usage.headers ?? {}).sort()).toEqual(['RateLimit', 'RateLimit-Policy']);
    expect(parsed.components.headers['RateLimit-Policy'].description).toContain('"generations"');
    const post = parsed.paths['/api/v1/generations'].post.responses;
    expect(Object.keys(post['429'].headers ?? {})).toContain('Retry-After');
    expect(JSON.stringify(post['429'])).toContain('QUOTA_EXCEEDED');
    expect(Object.keys(parsed.components.securitySchemes).sort()).toEqual([
      'apiKey',
      'bearer',
      'metricsToken',
    ]);
    expect(parsed.components.schemas.Problem).toBeDefined();
    const events = parsed.paths['/api/v1/generations/{id}/events'].get.responses;
    expect(Object.keys(events['200'] as object)).toContain('content');
    expect(JSON.stringify(events['200'])).toContain('text/event-stream');
    expect(JSON.stringify(events['429'])).toContain('QUOTA_EXCEEDED');
    expect(JSON.stringify(parsed.components.schemas.CreateGenerationDto)).toContain(
      '"maxLength":20000',
    );
    // completion webhooks: the receiver on the request, its delivery on the generation
    const create = parsed.components.schemas.CreateGenerationDto as {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(create.properties.callbackUrl).toMatchObject({ format: 'uri', maxLength: 2048 });
    expect(JSON.stringify(parsed.components.schemas.GenerationView)).toContain(
      '#/components/schemas/CallbackView',
    );
    expect(JSON.stringify(parsed.components.schemas.CallbackView)).toContain('"delivered"');
  });
});

describe('an event stream read by a page', () => {
  it('reads status, then done after a cancel, with fetch() from another origin (EventSource cannot send the key)', async () => {
    const page = await browser.newPage();
    await page.goto(appOrigin);
    const created = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prompt: 'read in a browser' }),
    });
    const { id } = (await created.json()) as { id: string };
    // in the page: open the stream, cancel once the first event is in, read until the end
    const seen = await page.evaluate(
      async ({ id, key, base }) => {
        const headers = { Authorization: `Bearer ${key}` };
        const response = await fetch(`${base}/api/v1/generations/${id}/events`, { headers });
        const reader = (response.body as ReadableStream<Uint8Array>)
          .pipeThrough(new TextDecoderStream())
          .getReader();
        const events: Array<{ event: string; id: string; data: unknown }> = [];
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const fields = Object.fromEntries(
              buffer
                .slice(0, end)
                .split('\n')
                .filter((line) => !line.startsWith(':'))
                .map((line) => [
                  line.slice(0, line.indexOf(':')),
                  line.slice(line.indexOf(':') + 2),
                ]),
            );
            buffer = buffer.slice(end + 2);
            if (!fields.event) continue;
            events.push({ event: fields.event, id: fields.id, data: JSON.parse(fields.data) });
            if (events.length === 1)
              await fetch(`${base}/api/v1/generations/${id}`, { method: 'DELETE', headers });
          }
        }
        return { type: response.headers.get('content-type'), events };
      },
      { id, key, base: api.url },
    );
    expect(seen.type).toBe('text/event-stream; charset=utf-8');
    expect(seen.events.map((event) => event.event)).toEqual(['status', 'done']);
    expect(seen.events[0].data).toMatchObject({ id, status: 'queued' });
    expect(seen.events[1].data).toMatchObject({ id, status: 'cancelled' });
    await page.close();
  });
});
