import { getLogger } from '@app/logging';
import { withTimeout } from './with-timeout';

const logger = getLogger('RunningTasks');

/** At shutdown, tasks still running this long before the deadline are stopped (at most half). */
const STOP_MARGIN_MS = 3000;

interface Task<T> {
  info: T;
  stop: AbortController;
  done: Promise<void>;
}

/**
 * The units of work a process is running now (a worker's jobs), each with the signal that stops
 * it, and the one way they end at shutdown: let them finish, stop the ones that would outlast
 * the deadline, and wait for those briefly.
 */
export class RunningTasks<T = undefined> {
  private readonly tasks = new Map<string, Task<T>>();

  /** `what`: the tasks' name in logs and timeouts ("attempts", "webhook deliveries"). */
  constructor(private readonly what: string) {}

  get size(): number {
    return this.tasks.size;
  }

  /** What is running, by id, as `run` was given it. */
  entries(): Array<[string, T]> {
    return [...this.tasks].map(([id, task]) => [id, task.info]);
  }

  /** Runs `work` as task `id` until it settles; `work` stops when its signal aborts. */
  async run<R>(id: string, info: T, work: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const stop = new AbortController();
    let finish = (): void => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    this.tasks.set(id, { info, stop, done });
    try {
      return await work(stop.signal);
    } finally {
      this.tasks.delete(id);
      finish();
    }
  }

  /** Aborts task `id`'s signal with `reason`, if it is still running. */
  stop(id: string, reason: unknown): void {
    this.tasks.get(id)?.stop.abort(reason);
  }

  /**
   * Waits for every running task to finish until shortly before `deadlineMs` (3 s, or half of
   * it when shorter); aborts the ones left with `reason()` and gives them that margin to wind
   * down. True when all finished without being stopped.
   */
  async settle(deadlineMs: number, reason: () => unknown): Promise<boolean> {
    const marginMs = Math.min(STOP_MARGIN_MS, deadlineMs / 2);
    if (await this.finishedWithin(deadlineMs - marginMs)) return true;
    logger.warn({ running: this.tasks.size }, `stopping ${this.what} still running at shutdown`);
    for (const task of this.tasks.values()) task.stop.abort(reason());
    await this.finishedWithin(marginMs);
    return false;
  }

  private async finishedWithin(ms: number): Promise<boolean> {
    const done = [...this.tasks.values()].map((task) => task.done);
    if (done.length === 0) return true;
    return withTimeout(Promise.all(done), Math.max(0, ms), this.what).then(
      () => true,
      () => false,
    );
  }
}
