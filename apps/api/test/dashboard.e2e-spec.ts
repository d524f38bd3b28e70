import { waitForLog } from '../../../test/support/log-files';
import { startApi } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('Bull Board at /admin/queues (real api)', () => {
  it('needs HTTP Basic on the page, its assets and its JSON API alike', async () => {
    const env = testEnv({ BULL_BOARD_USERNAME: 'ops', BULL_BOARD_PASSWORD: 'pass-1234' });
    const dir = String(env.LOG_DIR);
    const api = await startApi(env);
    try {
      for (const path of [
        '/admin/queues',
        '/admin/queues/api/queues',
        '/admin/queues/static/css/x.css',
      ]) {
        for (const authorization of [
          undefined,
          basic('ops', 'wrong'),
          basic('other', 'pass-1234'),
          'Basic !!!',
        ]) {
          const response = await fetch(`${api.url}${path}`, {
            headers: authorization ? { Authorization: authorization } : {},
          });
          expect({ path, status: response.status }).toEqual({ path, status: 401 });
          expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm="Bull Board"/);
          expect(response.headers.get('content-type')).toBe('application/problem+json');
        }
      }
      const page = await fetch(`${api.url}/admin/queues`, {
        headers: { Authorization: basic('ops', 'pass-1234') },
      });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain(
        "style-src 'self' 'unsafe-inline'",
      );
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      const queues = await fetch(`${api.url}/admin/queues/api/queues`, {
        headers: { Authorization: basic('ops', 'pass-1234') },
      });
      const body = (await queues.json()) as { queues: Array<{ name: string }> };
      expect(body.queues.map((q) => q.name)).toEqual([
        'generations',
        'generations-retention',
        'webhooks',
      ]);
      await waitForLog(dir, 'api', 'security', (l) => l.event === 'dashboard_auth_failed');
    } finally {
      await api.stop();
    }
  });

  it('does not exist in production without credentials (404), and is open in development', async () => {
    const production = await startApi(
      testEnv({
        ENVIRONMENT: 'production',
        SHUTDOWN_DRAIN_DELAY_MS: '0',
        REDIS_URL: 'redis://127.0.0.1:6379/5',
      }),
    );
    try {
      for (const path of ['/admin/queues', '/admin/queues/api/queues']) {
        const response = await fetch(`${production.url}${path}`);
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
      }
      expect((await fetch(`${production.url}/api/docs`)).status).toBe(404);
    } finally {
      await production.stop();
    }
    const development = await startApi(testEnv({ ENVIRONMENT: 'development', LOG_FORMAT: 'json' }));
    try {
      expect((await fetch(`${development.url}/admin/queues/api/queues`)).status).toBe(200);
      await development.waitForLine((l) => String(l.msg).includes('open without credentials'));
    } finally {
      await development.stop();
    }
  });
});
