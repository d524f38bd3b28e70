import { spawn } from 'node:child_process';
import { ROOT, sleep } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

const afterAllCleanups: Array<() => void> = [];
afterAll(() => afterAllCleanups.forEach((cleanup) => cleanup()));

/** `npm start` as a person runs it: both apps in one terminal, Ctrl-C stops both with 0. */
describe('npm start', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    'runs api and worker together and %s stops both cleanly',
    async (signal) => {
      const npm = spawn('npm', ['start'], {
        cwd: ROOT,
        env: testEnv({ LOG_FORMAT: 'pretty' }),
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      npm.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      npm.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => npm.once('exit', resolve));

      // Whatever happens, nothing of the group outlives the test.
      const cleanup = (): void => {
        try {
          process.kill(-(npm.pid as number), 'SIGKILL');
        } catch {
          // already gone
        }
      };
      afterAllCleanups.push(cleanup);
      const deadline = Date.now() + 90000;
      while (!(output.includes('api listening') && output.includes('worker started'))) {
        if (Date.now() > deadline || npm.exitCode !== null) throw new Error(output);
        await sleep(200);
      }
      expect(output).toMatch(
        /\[api\].*API http:\/\/localhost:\d+\/api\/v1 \| docs .*\/api\/docs \| Bull Board .*\/admin\/queues \| health/,
      );

      // Ctrl-C reaches the whole foreground process group; SIGTERM is sent to npm alone.
      if (signal === 'SIGINT') process.kill(-(npm.pid as number), signal);
      else npm.kill(signal);
      expect(await exited).toBe(0);
      expect(output).toMatch(/\[api\].*shutdown complete/);
      expect(output).toMatch(/\[worker\].*shutdown complete/);
      // No process of the group is left behind (members may take a moment to be reaped).
      expect(await groupGone(npm.pid as number, 10000)).toBe(true);
    },
    120000,
  );
});

async function groupGone(groupId: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      process.kill(-groupId, 0);
    } catch {
      return true;
    }
    await sleep(100);
  }
  return false;
}
