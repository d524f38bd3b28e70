import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { createApiKey } from '../support/api-keys';
import { freePort } from '../support/ports';
import { sleep, startApi, startWorker } from '../support/processes';
import { tempDir } from '../support/test-env';
import { idOf, postGeneration, send, waitFor } from '../reliability/support';
import { scaleEnv } from './scale-env';
import { waitAllSucceeded } from './support';

/** A private CA and a server certificate for 127.0.0.1 signed by it (openssl). */
function certificates(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=test CA',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    path('server.key'),
    '-out',
    path('server.csr'),
  );
  writeFileSync(path('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    path('server.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    path('san.ext'),
    '-out',
    path('server.pem'),
  );
  return { ca: path('ca.pem'), cert: path('server.pem'), key: path('server.key') };
}

describe('rediss:// with a private CA (REDIS_TLS_CA_FILE)', () => {
  let server: ChildProcess;
  let port: number;
  let files: { ca: string; cert: string; key: string };

  beforeAll(async () => {
    files = certificates(tempDir('tls'));
    port = await freePort();
    server = spawn(
      'redis-server',
      [
        '--port',
        '0',
        '--tls-port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--tls-cert-file',
        files.cert,
        '--tls-key-file',
        files.key,
        '--tls-ca-cert-file',
        files.ca,
        '--tls-auth-clients',
        'no',
      ],
      { stdio: 'ignore' },
    );
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(files.ca) }, () => {
            socket.end();
            resolve(true);
          });
          socket.on('error', () => resolve(false));
        }),
      10000,
      'the TLS redis-server',
    );
  });

  afterAll(() => {
    server?.kill('SIGKILL');
  });

  it('runs api and worker over TLS when the CA is given, and refuses the unknown CA without it', async () => {
    const env = scaleEnv({
      REDIS_URL: `rediss://127.0.0.1:${port}`,
      REDIS_TLS_CA_FILE: files.ca,
    });
    const key = await createApiKey(env, '--user', 'tls');
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      await waitFor(
        async () => (await send(`${api.url}/health/ready`)).status === 200,
        20000,
        'ready',
      );
      const created = await postGeneration(api.url, key, 'over TLS');
      expect(created.status).toBe(202);
      await waitAllSucceeded([idOf(created)], 20000);
    } finally {
      expect(await Promise.all([api.stop(), worker.stop()])).toEqual([0, 0]);
    }

    // without the CA the server's certificate is not trusted: readiness names Redis as down
    const untrusted = await startApi(scaleEnv({ REDIS_URL: `rediss://127.0.0.1:${port}` }));
    try {
      await sleep(2000);
      const ready = await send(`${untrusted.url}/health/ready`, {}, true);
      expect(ready.status).toBe(503);
      expect(JSON.parse(ready.body as string)).toMatchObject({
        error: { redis: { status: 'down' } },
      });
    } finally {
      await untrusted.stop();
    }
  });
});
