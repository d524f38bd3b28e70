import { getLogger, runInJobContext } from '@app/logging';
import type { Job } from 'bull';

const logger = getLogger('JobRunner');
let active = 0;

/** Jobs running in this process now (the worker's heartbeat reports it). */
export function activeJobCount(): number {
  return active;
}

/**
 * How every processor runs a job: inside its log context (jobId, queue, and the requestId/userId
 * of the request that queued it), with a failure logged once with that context and its stack,
 * then rethrown so Bull records it (failedReason) and retries or fails the job.
 */
export function runJob<T>(job: Job, handler: () => Promise<T>): Promise<T> {
  return runInJobContext(job, async () => {
    active += 1;
    try {
      return await handler();
    } catch (error) {
      logger.error(
        { err: error, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 },
        `Error processing job ${String(job.id)} of ${job.queue.name}`,
      );
      throw error;
    } finally {
      active -= 1;
    }
  });
}
