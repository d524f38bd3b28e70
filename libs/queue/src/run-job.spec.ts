import { Writable } from 'node:stream';
import { closeLoggers, installLoggers } from '@app/logging';
import type { Job, Queue } from 'bull';
import pino from 'pino';
import { processQueue } from './run-job';

/**
 * What Bull 4 does when its connection closes during `process()`: `setHandler` starts
 * `setWorkerName()` and drops its promise, and `process()`'s own promise rejects too.
 */
class ClosingQueue {
  readonly name = 'generation';
  naming: Promise<void> | undefined;

  setWorkerName(): Promise<void> {
    return Promise.reject(new Error('Connection is closed.'));
  }

  process(_concurrency: number, _handler: (job: Job) => Promise<unknown>): Promise<void> {
    this.naming = this.setWorkerName();
    return Promise.reject(new Error('Connection is closed.'));
  }
}

function captureLines(): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'debug' }, stream);
  installLoggers({ app: logger, access: logger, security: logger, close: async () => undefined });
  return lines;
}

describe('processQueue', () => {
  afterEach(() => closeLoggers());

  it('handles both rejections of a connection closed during start-up, logging each once', async () => {
    const lines = captureLines();
    const queue = new ClosingQueue();
    processQueue(queue as unknown as Queue, 2, async () => undefined);
    // the promise Bull drops now settles without rejecting: nothing is left unhandled
    await expect(queue.naming).resolves.toBeUndefined();
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((line) => [line.level, line.msg, line.queue])).toEqual([
      [40, 'Worker connection not named', 'generation'],
      [40, 'Queue processing stopped', 'generation'],
    ]);
    expect(lines.map((line) => (line.err as { message: string }).message)).toEqual([
      'Connection is closed.',
      'Connection is closed.',
    ]);
  });
});
