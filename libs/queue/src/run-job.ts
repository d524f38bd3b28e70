import { getLogger, jobTraceparent, runInJobContext } from '@app/logging';
import { runInConsumerSpan, tracingStarted } from '@app/tracing';
import type { Job, Queue } from 'bull';

const logger = getLogger('JobRunner');

/**
 * Thrown by a processor that has logged what happened and wants Bull's next attempt after its
 * backoff (a webhook receiver answered 503): not an error of the platform, so not logged again.
 */
export class RetryLater extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryLater';
  }
}
let active = 0;

/** Jobs running in this process now (the worker's heartbeat reports it). */
export function activeJobCount(): number {
  return active;
}

/**
 * How every processor runs a job: inside its log context (jobId, queue, and the requestId/userId
 * of the request that queued it) and, when tracing is on, a span continuing the producer's trace
 * (one per attempt), with a failure logged once with that context and its stack, then rethrown
 * so Bull records it (failedReason) and retries or fails the job.
 */
export function runJob<T>(job: Job, handler: () => Promise<T>): Promise<T> {
  const run = (): Promise<T> =>
    runInJobContext(job, async () => {
      active += 1;
      try {
        return await handler();
      } catch (error) {
        if (error instanceof RetryLater) throw error;
        logger.error(
          { err: error, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 },
          `Error processing job ${String(job.id)} of ${job.queue.name}`,
        );
        throw error;
      } finally {
        active -= 1;
      }
    });
  // without tracing nothing more per job: no span options, no traceparent parsing
  if (!tracingStarted()) return run();
  return runInConsumerSpan(
    {
      name: `${job.queue.name} process`,
      traceparent: jobTraceparent(job.data),
      attributes: {
        'messaging.system': 'bull',
        'messaging.operation.type': 'process',
        'messaging.destination.name': job.queue.name,
        'messaging.message.id': String(job.id),
        'job.attempt': job.attemptsMade + 1,
      },
    },
    run,
  );
}

/** Bull's own method, absent from its typings: names the blocking connection `bull:<queue>:…`. */
interface WorkerNaming {
  setWorkerName(): Promise<void>;
}

/**
 * Starts Bull's processing of `queue` with `concurrency` jobs at a time. Bull's promise settles
 * only when the queue closes, and rejects when its connection closes under it — a SIGTERM during
 * start-up, before the processing loop is set up: that is logged here, never left unhandled (an
 * unhandled rejection would end the process with 1 instead of a clean shutdown).
 *
 * Bull's `process()` also starts `setWorkerName()` (CLIENT SETNAME on the blocking connection) and
 * drops its promise (bull 4.16.5, lib/queue.js `setHandler`), which rejects the same way when the
 * connection closes first: the queue's own method is wrapped so that rejection is logged too.
 */
export function processQueue(
  queue: Queue,
  concurrency: number,
  handler: (job: Job) => Promise<unknown>,
): void {
  const naming = queue as unknown as WorkerNaming;
  const setWorkerName = naming.setWorkerName.bind(queue);
  naming.setWorkerName = () =>
    setWorkerName().catch((error: unknown) => {
      logger.warn({ err: error, queue: queue.name }, 'Worker connection not named');
    });
  queue.process(concurrency, handler).catch((error: unknown) => {
    logger.warn({ err: error, queue: queue.name }, 'Queue processing stopped');
  });
}
