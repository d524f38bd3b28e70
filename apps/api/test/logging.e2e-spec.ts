import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { logFiles, parseJsonLines, readLog, waitForLog } from '../../../test/support/log-files';
import { RunningProcess, startProbeApi, startProbeWorker } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

type Api = RunningProcess & { url: string };

/** Every line of every file in the folder parses as one JSON object. */
function allLines(dir: string): Array<Record<string, unknown>> {
  return ['api', 'worker'].flatMap((service) =>
    logFiles(dir, service).flatMap((file) =>
      parseJsonLines(readFileSync(join(dir, service, file), 'utf8'), `${service}/${file}`),
    ),
  );
}

describe('logging (real api process, real files)', () => {
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    const env = testEnv({ DB_SLOW_QUERY_MS: '100' });
    dir = String(env.LOG_DIR);
    api = await startProbeApi(env);
  });
  afterAll(() => api?.stop());

  it('answers JSON as Express does — its charset, the exact Content-Length, no body for HEAD — and the access line has the length', async () => {
    const response = await fetch(`${api.url}/test/log?marker=${encodeURIComponent('zoë ✓')}`);
    const text = await response.text();
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(Number(response.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual({ ok: true });
    const health = await fetch(`${api.url}/health`);
    const body = await health.text();
    const head = await fetch(`${api.url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(body)));
    expect(await head.text()).toBe('');
    const requestId = response.headers.get('x-request-id');
    const [line] = await waitForLog(dir, 'api', 'access', (l) => l.requestId === requestId);
    expect(line.contentLength).toBe(Buffer.byteLength(text));
  });

  it('writes one access line per request with method, path, status, duration, ip, agent, id', async () => {
    const response = await fetch(`${api.url}/test/log?marker=access-1&token=q`, {
      headers: { 'User-Agent': 'jest-probe/1.0' },
    });
    const requestId = response.headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const lines = await waitForLog(dir, 'api', 'access', (l) => l.requestId === requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      service: 'api',
      context: 'HttpAccess',
      method: 'GET',
      path: '/test/log',
      status: 200,
      ip: expect.stringMatching(/127\.0\.0\.1$/),
      userAgent: 'jest-probe/1.0',
      requestId,
    });
    expect(typeof lines[0].durationMs).toBe('number');
    expect(typeof lines[0].contentLength).toBe('number');
    expect(String(lines[0].time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // Access lines stay out of app.log.
    expect(readLog(dir, 'api', 'app').filter((l) => l.context === 'HttpAccess')).toEqual([]);
  });

  it('keeps a valid X-Request-Id and puts it on every line of that request', async () => {
    const response = await fetch(`${api.url}/test/log?marker=keep-id`, {
      headers: { 'X-Request-Id': 'client-req.42:a_b-c' },
    });
    expect(response.headers.get('x-request-id')).toBe('client-req.42:a_b-c');
    const appLines = await waitForLog(dir, 'api', 'app', (l) => l.marker === 'keep-id', {
      count: 2,
    });
    expect(appLines.map((l) => l.msg).sort()).toEqual(['nested async work', 'probe log line']);
    for (const line of appLines) {
      expect(line).toMatchObject({ requestId: 'client-req.42:a_b-c', service: 'api' });
      expect(line.context).toEqual(expect.any(String));
      expect(line.environment).toBe('test');
    }
    await waitForLog(dir, 'api', 'access', (l) => l.requestId === 'client-req.42:a_b-c');
  });

  it.each([
    ['200 characters', 'a'.repeat(200)],
    ['quotes', 'abc"def'],
    ['non-ASCII', 'réquest-ïd'],
    ['spaces', 'abc def'],
  ])('replaces an X-Request-Id with %s and never logs it', async (_kind, bad) => {
    // fetch refuses newlines and non-ASCII in headers, so those go raw over a socket.
    const { status, requestId } = await rawGet(api.url, '/test/log?marker=bad-id', bad);
    expect(status).toBe(200);
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    await waitForLog(dir, 'api', 'access', (l) => l.requestId === requestId);
    const everything = logFiles(dir, 'api')
      .map((file) => readFileSync(join(dir, 'api', file), 'utf8'))
      .join('');
    expect(everything).not.toContain(JSON.stringify(bad).slice(1, -1));
  });

  it('rejects an X-Request-Id holding a newline before it reaches the app, and never logs it', async () => {
    const { status } = await rawGet(api.url, '/test/log?marker=newline-id', 'abc\ninjected');
    expect(status).toBe(400);
    const everything = logFiles(dir, 'api')
      .map((file) => readFileSync(join(dir, 'api', file), 'utf8'))
      .join('');
    expect(everything).not.toContain('injected');
  });

  it('never breaks the one-object-per-line format, whatever the input', async () => {
    const nasty = 'line1\nline2\r\n"quoted"\u0000\u001b[31m\u2028\u2029}{';
    await fetch(`${api.url}/test/log?marker=${encodeURIComponent(nasty)}`, {
      headers: { 'User-Agent': 'agent "quoted" \\ back' },
    });
    await fetch(`${api.url}/test/log`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ text: nasty, nested: { deeper: [nasty] } }),
    });
    await rawGet(api.url, `/test/log?x=%0A%22%7D`, 'ok', 'evil\tagent');
    await waitForLog(dir, 'api', 'app', (l) => l.marker === nasty);
    expect(() => allLines(dir)).not.toThrow();
  });

  it('puts the userId set during the request on its app and access lines (injected logger)', async () => {
    const response = await fetch(`${api.url}/test/as-user?user=user-77&marker=uid-1`);
    const requestId = response.headers.get('x-request-id');
    const [line] = await waitForLog(dir, 'api', 'app', (l) => l.marker === 'uid-1');
    expect(line).toMatchObject({
      msg: 'injected logger line',
      context: 'ProbeService',
      userId: 'user-77',
      requestId,
    });
    const [access] = await waitForLog(dir, 'api', 'access', (l) => l.requestId === requestId);
    expect(access.userId).toBe('user-77');
  });

  it.each([
    ['malformed JSON', '{"broken": ', 'application/json', 400],
    [
      'a body over BODY_LIMIT',
      JSON.stringify({ text: 'x'.repeat(2_000_000) }),
      'application/json',
      413,
    ],
  ])(
    'gives %s, rejected before routing, a request id and an access line',
    async (_k, body, type, status) => {
      const response = await fetch(`${api.url}/test/log`, {
        method: 'POST',
        headers: { 'Content-Type': type },
        body,
      });
      expect(response.status).toBe(status);
      const requestId = response.headers.get('x-request-id');
      expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
      const [access] = await waitForLog(dir, 'api', 'access', (l) => l.requestId === requestId);
      expect(access).toMatchObject({ method: 'POST', path: '/test/log', status });
    },
  );

  it('writes an error with its stack to errors.log and to its own channel', async () => {
    const response = await fetch(`${api.url}/test/log-error?marker=err-1`);
    const requestId = response.headers.get('x-request-id');
    const [errorLine] = await waitForLog(dir, 'api', 'errors', (l) => l.marker === 'err-1');
    expect(errorLine).toMatchObject({ level: 'error', requestId, context: 'ProbeController' });
    const err = errorLine.err as { message: string; stack: string; type: string };
    expect(err.message).toBe('probe failure err-1');
    expect(err.stack).toMatch(/probe failure err-1\n\s+at /);
    await waitForLog(dir, 'api', 'app', (l) => l.marker === 'err-1' && l.level === 'error');
  });

  it('writes security events to security.log only', async () => {
    const response = await fetch(`${api.url}/test/security-event?marker=sec-1`);
    const requestId = response.headers.get('x-request-id');
    const [event] = await waitForLog(dir, 'api', 'security', (l) => l.marker === 'sec-1');
    expect(event).toMatchObject({
      event: 'auth_failed',
      ip: '203.0.113.7',
      requestId,
      level: 'warn',
      context: 'Security',
    });
    expect(readLog(dir, 'api', 'app').filter((l) => l.marker === 'sec-1')).toEqual([]);
  });

  it('redacts secrets at the top level and nested several levels deep', async () => {
    await fetch(`${api.url}/test/log`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        marker: 'redact-1',
        password: 'pw-top',
        apiKey: 'key-top',
        token: 'token-top',
        secret: 'secret-top',
        usage: { promptTokens: 3 },
        a: { b: { c: { d: { password: 'pw-deep', headers: { authorization: 'Bearer deep' } } } } },
        list: [{ cookie: 'session=deep' }, { 'x-api-key': 'xk-deep', clientSecret: 'cs-deep' }],
      }),
    });
    const [line] = await waitForLog(
      dir,
      'api',
      'app',
      (l) => (l.body as { marker?: string } | undefined)?.marker === 'redact-1',
    );
    const text = JSON.stringify(line);
    for (const secret of [
      'pw-top',
      'key-top',
      'token-top',
      'secret-top',
      'pw-deep',
      'Bearer deep',
      'session=deep',
      'xk-deep',
      'cs-deep',
    ]) {
      expect(text).not.toContain(secret);
    }
    const body = line.body as Record<string, unknown>;
    expect(body.password).toBe('[REDACTED]');
    expect(body.usage).toEqual({ promptTokens: 3 });
    expect(JSON.stringify(body.a)).toBe(
      '{"b":{"c":{"d":{"password":"[REDACTED]","headers":{"authorization":"[REDACTED]"}}}}}',
    );
  });

  it('warns about a slow query with its duration, never its parameters', async () => {
    const response = await fetch(`${api.url}/test/slow-query`);
    const requestId = response.headers.get('x-request-id');
    const [line] = await waitForLog(
      dir,
      'api',
      'app',
      (l) => l.msg === 'slow query' && l.requestId === requestId,
    );
    expect(line).toMatchObject({ level: 'warn', context: 'Database', parameterCount: 1 });
    expect(line.durationMs).toBeGreaterThanOrEqual(100);
    expect(String(line.query)).toContain('pg_sleep');
    const everything = readdirSync(join(dir, 'api'))
      .map((file) => readFileSync(join(dir, 'api', file), 'utf8'))
      .join('');
    expect(everything).not.toContain('param-s3cr3t');
  });

  it('carries the request id of the HTTP request into the worker lines of its job', async () => {
    const worker = await startProbeWorker(testEnv({ LOG_DIR: dir }));
    try {
      const response = await fetch(`${api.url}/test/jobs?marker=job-ctx`, {
        method: 'POST',
        headers: { 'X-Request-Id': 'req-into-job-1' },
      });
      const { jobId } = (await response.json()) as { jobId: string };
      const lines = await waitForLog(
        dir,
        'worker',
        'app',
        (l) => l.msg === 'probe job finished' && l.marker === 'job-ctx',
      );
      expect(lines[0]).toMatchObject({
        service: 'worker',
        requestId: 'req-into-job-1',
        jobId,
        queue: 'probe-jobs',
        context: 'ProbeJobProcessor',
      });

      // A failing job is logged once, with its context and stack, in the worker's errors.log.
      const failed = await fetch(`${api.url}/test/jobs?marker=fail-1`, {
        method: 'POST',
        headers: { 'X-Request-Id': 'req-into-job-2' },
      });
      const { jobId: failedId } = (await failed.json()) as { jobId: string };
      const [errorLine] = await waitForLog(dir, 'worker', 'errors', (l) => l.jobId === failedId);
      expect(errorLine).toMatchObject({
        requestId: 'req-into-job-2',
        queue: 'probe-jobs',
        context: 'JobRunner',
        attempt: 1,
      });
      expect((errorLine.err as { stack: string }).stack).toContain('probe job failed: fail-1');
    } finally {
      await worker.stop();
    }
  });
});

describe('log rotation and shutdown flush', () => {
  it('rotates by size without losing a line', async () => {
    const env = testEnv({ LOG_MAX_SIZE: '20k', LOG_MAX_FILES: '50' });
    const dir = String(env.LOG_DIR);
    const api = await startProbeApi(env);
    try {
      for (let round = 0; round < 5; round += 1) {
        await fetch(`${api.url}/test/burst?count=100&marker=rot`);
      }
      expect(await api.stop()).toBe(0);
      const files = logFiles(dir, 'api').filter((name) => name.startsWith('app.log'));
      expect(files.length).toBeGreaterThan(3);
      expect(files).toContain('app.log');
      expect(files.filter((name) => /^app\.log\.\d{8}-\d{6}\.\d+$/.test(name)).length).toBe(
        files.length - 1,
      );
      const indexes = files
        .flatMap((file) => parseJsonLines(readFileSync(join(dir, 'api', file), 'utf8')))
        .filter((l) => l.marker === 'rot')
        .map((l) => Number(l.index));
      expect(indexes).toHaveLength(500);
    } finally {
      await api.stop();
    }
  });

  it('flushes the last line written before SIGTERM', async () => {
    const env = testEnv();
    const dir = String(env.LOG_DIR);
    const api = await startProbeApi(env);
    await fetch(`${api.url}/test/burst?count=2000&marker=last`);
    expect(await api.stop('SIGTERM')).toBe(0);
    const indexes = readLog(dir, 'api', 'app')
      .filter((l) => l.marker === 'last')
      .map((l) => Number(l.index));
    expect(indexes).toHaveLength(2000);
    expect(indexes[indexes.length - 1]).toBe(1999);
    expect(readLog(dir, 'api', 'app').some((l) => l.msg === 'shutdown complete')).toBe(true);
  });

  it('writes stdout only with LOG_TO_FILES=false', async () => {
    const env = testEnv({ LOG_TO_FILES: 'false' });
    const api = await startProbeApi(env);
    await fetch(`${api.url}/test/log?marker=stdout-only`);
    await api.waitForLine((l) => l.marker === 'stdout-only');
    await api.stop();
    expect(logFiles(String(env.LOG_DIR), 'api')).toEqual([]);
  });
});

/** A GET over a raw socket, so headers fetch would refuse (newlines, non-ASCII) can be sent. */
async function rawGet(
  baseUrl: string,
  path: string,
  requestIdHeader: string,
  userAgent = 'raw',
): Promise<{ status: number; requestId: string | undefined }> {
  const { connect } = await import('node:net');
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('end', () => {
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(data)?.[1]);
      const requestId = /\r\nx-request-id: ([^\r]*)\r\n/i.exec(data)?.[1];
      resolve({ status, requestId });
    });
    socket.write(
      Buffer.from(
        `GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nUser-Agent: ${userAgent}\r\n` +
          `X-Request-Id: ${requestIdHeader}\r\nConnection: close\r\n\r\n`,
        'utf8',
      ),
    );
  });
}
