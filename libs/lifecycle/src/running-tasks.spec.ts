import { setTimeout as sleep } from 'node:timers/promises';
import { RunningTasks } from './running-tasks';

/** A task that ends when its signal aborts (with the abort's reason) or after `ms`. */
function until(signal: AbortSignal, ms: number): Promise<unknown> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('finished'), ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    });
  });
}

describe('RunningTasks', () => {
  it('lists what runs, returns what the work returns, and forgets a task once it settles', async () => {
    const tasks = new RunningTasks<string>('attempts');
    const first = tasks.run('job-1', 'generation-1', (signal) => until(signal, 20));
    const failing = tasks.run('job-2', 'generation-2', () => Promise.reject(new Error('boom')));
    expect(tasks.entries()).toEqual([
      ['job-1', 'generation-1'],
      ['job-2', 'generation-2'],
    ]);
    await expect(failing).rejects.toThrow('boom');
    await expect(first).resolves.toBe('finished');
    expect(tasks.size).toBe(0);
  });

  it('stops one task by id with the reason given; an unknown id is ignored', async () => {
    const tasks = new RunningTasks('deliveries');
    const running = tasks.run('a', undefined, (signal) => until(signal, 10_000));
    tasks.stop('missing', 'ignored');
    tasks.stop('a', 'cancelled');
    await expect(running).resolves.toBe('cancelled');
  });

  it('settle: true when everything finishes before the deadline, without stopping anything', async () => {
    const tasks = new RunningTasks('attempts');
    await expect(tasks.settle(1000, () => 'shutdown')).resolves.toBe(true);
    const running = tasks.run('a', undefined, (signal) => until(signal, 30));
    await expect(tasks.settle(1000, () => 'shutdown')).resolves.toBe(true);
    await expect(running).resolves.toBe('finished');
  });

  it('settle: stops what would outlast the deadline, margin before it, and waits for it', async () => {
    const tasks = new RunningTasks('attempts');
    const started = Date.now();
    const long = tasks.run('a', undefined, async (signal) => {
      const reason = await until(signal, 60_000);
      await sleep(50); // winding down after the stop
      return reason;
    });
    // a 400 ms deadline: stopped at 200 ms (half of it, less than 3 s), then waited for
    await expect(tasks.settle(400, () => 'shutdown')).resolves.toBe(false);
    await expect(long).resolves.toBe('shutdown');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(tasks.size).toBe(0);
  });
});
