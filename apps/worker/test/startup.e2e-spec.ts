import { freePort } from '../../../test/support/ports';
import { STACK_FRAME, sleep, startWorker } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

describe('worker start-up (real processes)', () => {
  it('boots against real PostgreSQL and Redis and exits 0 on SIGTERM', async () => {
    const worker = await startWorker(testEnv());
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.stdout()).toContain('shutdown complete');
  });

  it('exits 0 on a SIGTERM that comes while its queues are still being set up', async () => {
    // Bull's processing promise and its dropped setWorkerName() promise both reject when the
    // connection closes under them: unhandled, that was exit 1 (about 1 in 6 under load).
    for (let start = 0; start < 5; start += 1) {
      const worker = await startWorker(testEnv());
      expect(await worker.stop('SIGTERM')).toBe(0);
      expect(worker.stdout()).not.toContain('"level":"fatal"');
    }
  });

  it('waits for an unreachable Redis, saying so with host:port, without a stack trace', async () => {
    const port = await freePort();
    const worker = await startWorker(testEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    await worker.waitForLine(
      (l) => l.msg === `Redis unreachable at 127.0.0.1:${port} (ECONNREFUSED); retrying every 1s`,
    );
    expect(worker.proc.exitCode).toBeNull();
    // past the clients' retry limits: still one line per retry period, no stack in any line
    await sleep(4500);
    expect(worker.stdout() + worker.stderr()).not.toMatch(STACK_FRAME);
    expect(worker.lines().filter((line) => JSON.stringify(line).includes('"stack"'))).toEqual([]);
    expect(await worker.stop()).toBe(0);
  });
});
