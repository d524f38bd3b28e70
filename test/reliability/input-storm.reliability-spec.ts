import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { readLog } from '../support/log-files';
import { startApi } from '../support/processes';
import { createKey, flushRedis, reliabilityEnv } from './support';

const RUNS = 2500;
const printable = (max: number) => fc.stringMatching(new RegExp(`^[\\x20-\\x7e]{0,${max}}$`));
/** Any UTF-16 code units: U+0000, lone surrogates and the rest. */
const anyText = (max: number) =>
  fc.string({
    unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
    maxLength: max,
  });

interface Answer {
  status: number;
  type: string | undefined;
  body: string;
}

function call(
  url: string,
  agent: Agent,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
): Promise<Answer> {
  // Node's client frames a body on GET or HEAD with no Content-Length at all: say it explicitly
  const framed = body ? { ...headers, 'content-length': String(body.length) } : headers;
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method, headers: framed, agent, timeout: 10000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: res.headers['content-type'],
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('no answer in 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

/** Bytes straight on a socket, for what an HTTP client would refuse to send. */
function raw(url: string, bytes: string): Promise<string> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let answer = '';
    socket.setTimeout(10000, () => socket.destroy(new Error('no answer in 10 s')));
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
    socket.end(bytes);
  });
}

describe('bad input storm (property-based, fast-check)', () => {
  it('answers thousands of random requests without a 5xx, always as problem details, with clean logs', async () => {
    await flushRedis(String(reliabilityEnv().REDIS_URL));
    const env = reliabilityEnv({ RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1', LOG_LEVEL: 'info' });
    const key = await createKey(env);
    const api = await startApi(env);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const seen = new Map<number, number>();
    try {
      const id = fc.oneof(
        fc.uuid(),
        printable(40).map(encodeURIComponent),
        fc.integer().map(String),
        fc.constantFrom(
          '..%2F..%2Fetc%2Fpasswd',
          '%00',
          '%zz',
          'null',
          '-1',
          '1e309',
          "' OR 1=1 --",
        ),
      );
      const path = fc.oneof(
        fc.constantFrom(
          '/api/v1/generations',
          '/api/v1/me',
          '/health',
          '/health/ready',
          '/health/detailed',
          '/health/database',
          '/metrics',
          '/admin/queues',
          '/api/docs',
          '/',
        ),
        id.map((value) => `/api/v1/generations/${value}`),
        fc
          .tuple(
            fc.constantFrom('limit', 'cursor', 'status', 'x'),
            printable(30).map(encodeURIComponent),
          )
          .map(([name, value]) => `/api/v1/generations?${name}=${value}`),
        fc
          .array(
            fc.oneof(
              printable(20).map(encodeURIComponent),
              fc.constantFrom('..', '.', '%', '%2e%2e', ''),
            ),
            {
              maxLength: 6,
            },
          )
          .map((segments) => `/${segments.join('/')}`),
      );
      const body = fc.oneof(
        fc.constant(undefined),
        fc.json().map((text) => Buffer.from(text)),
        fc
          .record(
            {
              prompt: fc.oneof(
                fc.string({ maxLength: 50 }),
                anyText(50),
                fc.integer(),
                fc.constant(null),
                fc.constant(''),
              ),
              model: fc.oneof(fc.string({ maxLength: 200 }), anyText(20), fc.integer()),
              maxTokens: fc.oneof(fc.integer(), fc.double(), fc.string()),
              temperature: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
              extra: fc.anything(),
            },
            { requiredKeys: [] },
          )
          .map((value) => Buffer.from(JSON.stringify(value))),
        fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
        fc
          .integer({ min: 30, max: 5000 })
          .map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
        // objects around and far past the 1,000-key limit
        fc
          .integer({ min: 900, max: 5000 })
          .map((keys) =>
            Buffer.from(
              JSON.stringify(
                Object.fromEntries(Array.from({ length: keys }, (_, i) => [`k${i}`, i])),
              ),
            ),
          ),
        fc
          .dictionary(anyText(8), anyText(20), { maxKeys: 30 })
          .map((value) => Buffer.from(JSON.stringify(value))),
      );
      const headers = fc.record(
        {
          authorization: fc.oneof(
            fc.constant(`Bearer ${key}`),
            printable(60).map((value) => `Bearer ${value}`),
            printable(80),
            fc.constant(`Bearer ${key.slice(0, -1)}x`),
          ),
          'x-api-key': fc.oneof(fc.constant(key), printable(60)),
          'content-type': fc.oneof(
            fc.constantFrom(
              'application/json',
              'application/json; charset=utf-16',
              'text/plain',
              'application/problem+json',
              'multipart/form-data',
            ),
            printable(40),
          ),
          'idempotency-key': printable(300),
          'x-forwarded-for': fc.oneof(
            printable(60),
            fc.ipV6(),
            fc.ipV4(),
            fc.tuple(fc.ipV6(), fc.ipV4()).map(([a, b]) => `${a}, ${b}`),
            fc.constantFrom('127.0.0.1', '::1', '::ffff:127.0.0.1', 'unknown', ''),
          ),
          'access-control-request-method': fc.oneof(
            fc.constantFrom('GET', 'POST', 'DELETE'),
            printable(20),
          ),
          'x-request-id': printable(200),
          accept: printable(40),
          origin: printable(40),
        },
        { requiredKeys: [] },
      );
      const method = fc.constantFrom(
        'GET',
        'GET',
        'POST',
        'POST',
        'PUT',
        'PATCH',
        'DELETE',
        'OPTIONS',
        'HEAD',
      );

      await fc.assert(
        fc.asyncProperty(method, path, headers, body, async (verb, target, extra, payload) => {
          const answer = await call(api.url, agent, verb, target, extra, payload);
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
          if (answer.status >= 500) return false;
          if (answer.status >= 400 && verb !== 'HEAD') {
            if (!answer.type?.startsWith('application/problem+json')) return false;
            const problem = JSON.parse(answer.body) as {
              status?: number;
              code?: unknown;
              title?: unknown;
            };
            if (problem.status !== answer.status || typeof problem.code !== 'string') return false;
            if (/\n\s+at .+:\d+:\d+/.test(answer.body)) return false;
            // bounded: an error answer never grows with the input
            if (answer.body.length > 10_000) return false;
          }
          return true;
        }),
        { numRuns: RUNS, seed: Number(process.env.STORM_SEED ?? Date.now() % 2 ** 31) },
      );

      // what an HTTP client refuses to send, straight on the socket
      for (const bytes of [
        'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
        'GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
        'POST /api/v1/generations HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n',
        `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20000)}\r\n\r\n`,
        '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
      ]) {
        const answer = await raw(api.url, bytes);
        const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
        expect({ bytes: bytes.slice(0, 40), ok: status >= 400 && status < 500 }).toEqual({
          bytes: bytes.slice(0, 40),
          ok: true,
        });
        expect(answer).toMatch(/content-type: application\/problem\+json/i);
      }
    } finally {
      agent.destroy();
      await api.stop();
    }

    expect([...seen.keys()].every((status) => status < 500)).toBe(true);
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(RUNS);
    // every line in every log file is JSON (readLog fails the test on one that is not)
    const dir = join(String(env.LOG_DIR), 'api');
    const files = readdirSync(dir).filter((file) => file.endsWith('.log'));
    expect(files.sort()).toEqual(['access.log', 'app.log', 'errors.log', 'security.log']);
    let lines = 0;
    for (const file of files)
      lines += readLog(String(env.LOG_DIR), 'api', file.replace(/\.log$/, '')).length;
    const access = readLog(String(env.LOG_DIR), 'api', 'access');
    expect(access.length).toBeGreaterThanOrEqual(RUNS);
    expect(lines).toBeGreaterThan(RUNS);
  });
});
