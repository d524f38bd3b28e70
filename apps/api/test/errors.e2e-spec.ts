import { connect } from 'node:net';
import { readLog, waitForLog } from '../../../test/support/log-files';
import { PrivatePostgres } from '../../../test/support/private-postgres';
import { RunningProcess, startProbeApi } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

type Api = RunningProcess & { url: string };

/** What no response body may ever contain: stacks, SQL, paths, internal names. */
const LEAKS = [
  /\bat .+\(.+:\d+:\d+\)/,
  /:\d+:\d+/,
  /node_modules/,
  /QueryFailedError|TypeError|ReferenceError|EntityNotFound|HttpException/,
  /\b(SELECT|INSERT|UPDATE|DELETE)\b[\s\S]*\b(FROM|INTO|SET|WHERE)\b/i,
  /\/srv\/|\/work\/|\.ts\b|\.js\b/,
  /no_such_table|secret_column|param-value|probe_unique|exploded/,
];

function expectNoLeak(text: string): void {
  for (const pattern of LEAKS) expect(text).not.toMatch(pattern);
}

async function problem(
  response: Response,
): Promise<{ body: Record<string, unknown>; text: string; requestId: string | null }> {
  const text = await response.text();
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const body = JSON.parse(text) as Record<string, unknown>;
  const requestId = response.headers.get('x-request-id');
  expect(body).toMatchObject({
    type: 'about:blank',
    title: expect.any(String),
    status: response.status,
    code: expect.any(String),
    detail: expect.stringMatching(/^Error [a-z]/),
    instance: expect.stringMatching(/^\//),
    requestId,
  });
  expectNoLeak(text);
  return { body, text, requestId };
}

describe('errors as problem details (real api process)', () => {
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    const env = testEnv({ BODY_LIMIT: '100kb' });
    dir = String(env.LOG_DIR);
    api = await startProbeApi(env);
  });
  afterAll(() => api?.stop());

  const post = (path: string, body: string, type = 'application/json'): Promise<Response> =>
    fetch(`${api.url}${path}`, { method: 'POST', headers: { 'Content-Type': type }, body });

  it.each([
    ['an unknown route', () => fetch(`${api.url}/no/such/route?x=1`), 404, 'NOT_FOUND'],
    ['malformed JSON', () => post('/test/errors/validate', '{"name": "x",'), 400, 'INVALID_JSON'],
    [
      'a body over BODY_LIMIT',
      () => post('/test/errors/validate', JSON.stringify({ name: 'x'.repeat(200_000) })),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a body that is not JSON',
      () => post('/test/errors/validate', 'name=x', 'text/plain'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a form body',
      () => post('/test/errors/validate', 'name=x', 'application/x-www-form-urlencoded'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'JSON nested too deep',
      () => post('/test/errors/validate', '['.repeat(5000) + ']'.repeat(5000)),
      400,
      'INVALID_JSON',
    ],
    ['an AppException(409)', () => fetch(`${api.url}/test/errors/app-exception`), 409, 'CONFLICT'],
    ['a plain Error', () => fetch(`${api.url}/test/errors/throw`), 500, 'INTERNAL_ERROR'],
    [
      'an async TypeError',
      () => fetch(`${api.url}/test/errors/throw-async`),
      500,
      'INTERNAL_ERROR',
    ],
    ['a failing SQL query', () => fetch(`${api.url}/test/errors/sql-error`), 500, 'INTERNAL_ERROR'],
    ['a unique violation', () => fetch(`${api.url}/test/errors/unique-violation`), 409, 'CONFLICT'],
    ['an error in a guard', () => fetch(`${api.url}/test/errors/guard`), 500, 'INTERNAL_ERROR'],
    [
      'an AppException in an interceptor',
      () => fetch(`${api.url}/test/errors/interceptor`),
      409,
      'CONFLICT',
    ],
    [
      'a pipe rejecting a parameter',
      () => fetch(`${api.url}/test/errors/pipe/abc`),
      400,
      'BAD_REQUEST',
    ],
    [
      'an error in Express middleware',
      () => fetch(`${api.url}/test/errors/middleware`),
      500,
      'INTERNAL_ERROR',
    ],
    [
      'a bad percent-encoding',
      () => fetch(`${api.url}/test/errors/pipe/%E0%A4%A`),
      400,
      'BAD_REQUEST',
    ],
  ])('answers %s with problem details', async (_what, send, status, code) => {
    const response = await send();
    expect(response.status).toBe(status);
    const { body } = await problem(response);
    expect(body.code).toBe(code);
  });

  it('keeps the AppException detail and logs its cause, not sends it', async () => {
    const response = await fetch(`${api.url}/test/errors/app-exception`);
    const { body, requestId } = await problem(response);
    expect(body.detail).toBe('Error creating widget: it already exists');
    const [line] = await waitForLog(
      dir,
      'api',
      'app',
      (l) => l.requestId === requestId && l.level === 'warn',
    );
    expect(line).toMatchObject({ status: 409, code: 'CONFLICT', context: 'ExceptionFilter' });
  });

  it('lists every invalid field, nested ones with dotted paths, and logs them at warn', async () => {
    const response = await post(
      '/test/errors/validate',
      JSON.stringify({ name: '', age: 'old', contact: { email: 'nope' }, extra: true }),
    );
    expect(response.status).toBe(400);
    const { body, requestId } = await problem(response);
    expect(body.code).toBe('VALIDATION_FAILED');
    expect(body.detail).toBe('Error validating request: 4 fields are invalid');
    const fields = (body.errors as Array<{ field: string; messages: string[] }>).map(
      (e) => e.field,
    );
    expect(fields.sort()).toEqual(['age', 'contact.email', 'extra', 'name']);
    const [line] = await waitForLog(dir, 'api', 'app', (l) => l.requestId === requestId);
    expect(line).toMatchObject({ level: 'warn', code: 'VALIDATION_FAILED' });
    expect((line.errors as unknown[]).length).toBe(4);
  });

  it('accepts a valid body (the validation is not rejecting everything)', async () => {
    const response = await post(
      '/test/errors/validate',
      JSON.stringify({ name: 'Ada', age: 36, contact: { email: 'ada@example.com' }, tags: ['x'] }),
    );
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ ok: true, name: 'Ada' });
  });

  it('logs every 5xx with its stack in errors.log under the request id the body carries', async () => {
    for (const path of ['throw', 'throw-async', 'sql-error', 'guard', 'middleware']) {
      const response = await fetch(`${api.url}/test/errors/${path}`);
      const { requestId } = await problem(response);
      const [line] = await waitForLog(
        dir,
        'api',
        'errors',
        (l) => l.requestId === requestId && l.context === 'ExceptionFilter',
      );
      expect(line).toMatchObject({ level: 'error', status: 500, code: 'INTERNAL_ERROR' });
      expect((line.err as { stack: string }).stack).toMatch(/\n\s+at /);
    }
  });

  it('ends a response whose headers were already sent instead of hanging', async () => {
    const response = await fetch(`${api.url}/test/errors/headers-sent`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('partial ');
  });

  it('answers requests the HTTP parser rejects with problem details', async () => {
    const url = new URL(api.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname);
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Request-Id: a\nb\r\n\r\n');
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(raw).toContain('Content-Type: application/problem+json');
    const body = JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 400, code: 'BAD_REQUEST', type: 'about:blank' });
  });

  describe('hostile input never gets a 5xx nor a body that is not problem details', () => {
    const deep = (levels: number): unknown => {
      let value: unknown = 'leaf';
      for (let i = 0; i < levels; i += 1) value = { contact: value };
      return value;
    };
    const valid = { name: 'Ada', age: 36, contact: { email: 'ada@example.com' } };
    const cases: Array<[string, string, string?]> = [
      ['deep nesting', JSON.stringify(deep(30))],
      [
        '__proto__ key',
        '{"__proto__": {"admin": true}, "name": "x", "age": 1, "contact": {"email": "a@b.co"}}',
      ],
      [
        'constructor key',
        JSON.stringify({ ...valid, constructor: { prototype: { admin: true } } }),
      ],
      ['nested __proto__', '{"name":"x","age":1,"contact":{"email":"a@b.co","__proto__":{"x":1}}}'],
      ['a 90 KB string', JSON.stringify({ ...valid, name: 'x'.repeat(90_000) })],
      ['wrong types', JSON.stringify({ name: 42, age: {}, contact: 'string', tags: 'notarray' })],
      ['nulls', JSON.stringify({ name: null, age: null, contact: null, tags: null })],
      ['null body', 'null'],
      ['a number body', '42'],
      ['a string body', '"just a string"'],
      ['an array body', JSON.stringify([valid, valid])],
      ['an empty object', '{}'],
      ['emoji and RTL text', JSON.stringify({ ...valid, name: '🚀\u202Eمرحبا\u200F👩‍🚀' })],
      ['numbers as strings', JSON.stringify({ ...valid, age: '36' })],
      ['arrays for objects', JSON.stringify({ ...valid, contact: [{ email: 'a@b.co' }] })],
      ['huge number', JSON.stringify({ ...valid, age: 1e308 })],
      ['negative zero and floats', '{"name":"x","age":-0.5,"contact":{"email":"a@b.co"}}'],
      ['duplicate keys', '{"name":"a","name":"b","age":1,"contact":{"email":"a@b.co"}}'],
      ['invalid UTF-8', '{"name":"\udc00"}'],
      [
        'a JSON charset other than UTF-8',
        JSON.stringify(valid),
        'application/json; charset=latin1',
      ],
      ['an empty body', '', 'application/json'],
    ];

    it.each(cases)('%s', async (_name, body, type = 'application/json') => {
      const response = await post('/test/errors/validate', body, type);
      expect(response.status).toBeLessThan(500);
      if (response.status >= 400) {
        await problem(response);
      } else {
        expect(response.headers.get('content-type')).toMatch(/^application\/json/);
        const parsed = (await response.json()) as Record<string, unknown>;
        expect(parsed.ok).toBe(true);
      }
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
    });
  });
});

describe('dependency failures', () => {
  let postgres: PrivatePostgres;
  let api: Api;

  beforeAll(async () => {
    postgres = await PrivatePostgres.start();
    api = await startProbeApi(testEnv({ DATABASE_URL: postgres.url }));
  }, 120000);
  afterAll(async () => {
    await api?.stop();
    postgres?.destroy();
  });

  it('answers 503 SERVICE_UNAVAILABLE while the database is down, and recovers', async () => {
    expect((await fetch(`${api.url}/test/errors/db-ping`)).status).toBe(200);
    postgres.down();
    const started = Date.now();
    const response = await fetch(`${api.url}/test/errors/db-ping`);
    expect(response.status).toBe(503);
    const { body } = await problem(response);
    expect(body.code).toBe('SERVICE_UNAVAILABLE');
    expect(Date.now() - started).toBeLessThan(10000);
    postgres.up();
    let status = 0;
    for (let attempt = 0; attempt < 50 && status !== 200; attempt += 1) {
      status = (await fetch(`${api.url}/test/errors/db-ping`)).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status).toBe(200);
  });
});

describe('process-level failures', () => {
  it.each([
    ['an uncaught exception', 'crash', 'uncaught probe crash'],
    ['an unhandled rejection', 'unhandled-rejection', 'unhandled probe rejection'],
  ])('logs %s as fatal with its stack, then exits non-zero', async (_what, path, message) => {
    const env = testEnv();
    const api = await startProbeApi(env);
    await fetch(`${api.url}/test/errors/${path}`);
    const code = await api.waitForExit(15000);
    expect(code).toBe(1);
    const fatal = readLog(String(env.LOG_DIR), 'api', 'errors').find((l) => l.level === 'fatal');
    expect(fatal).toBeDefined();
    expect((fatal?.err as { message: string; stack: string }).message).toBe(message);
    expect((fatal?.err as { stack: string }).stack).toMatch(/\n\s+at /);
  });
});
