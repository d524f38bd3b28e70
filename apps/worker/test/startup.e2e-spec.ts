import { freePort } from '../../../test/support/ports';
import { STACK_FRAME, startWorker } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

describe('worker start-up (real processes)', () => {
  it('boots against real PostgreSQL and Redis and exits 0 on SIGTERM', async () => {
    const worker = await startWorker(testEnv());
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.stdout()).toContain('shutdown complete');
  });

  it('waits for an unreachable Redis, saying so with host:port, without a stack trace', async () => {
    const port = await freePort();
    const worker = await startWorker(testEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    await worker.waitForLine(
      (l) => l.msg === `Redis unreachable at 127.0.0.1:${port} (ECONNREFUSED); retrying every 1s`,
    );
    expect(worker.proc.exitCode).toBeNull();
    expect(worker.stdout() + worker.stderr()).not.toMatch(STACK_FRAME);
    expect(await worker.stop()).toBe(0);
  });
});
