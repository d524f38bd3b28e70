import { activeTraceparent } from '@app/tracing';
import { LogContext, getLogContext, runWithLogContext } from './log-context';

/** Where a producer's context travels inside job data. */
export const JOB_LOG_CONTEXT_KEY = 'logContext';

export type WithLogContext<T> = T & {
  [JOB_LOG_CONTEXT_KEY]?: Pick<LogContext, 'requestId' | 'userId'> & { traceparent?: string };
};

/**
 * Producers wrap job data with this so the worker's lines for the job carry the requestId and
 * userId of the HTTP request that queued it, and — when tracing is on — the job's span continues
 * the producer's trace (its W3C `traceparent`).
 */
export function withLogContext<T extends object>(data: T): WithLogContext<T> {
  const context = getLogContext();
  const traceparent = activeTraceparent();
  if (!context?.requestId && !context?.userId && !traceparent) return data;
  return {
    ...data,
    [JOB_LOG_CONTEXT_KEY]: { requestId: context?.requestId, userId: context?.userId, traceparent },
  };
}

/** The producer's `traceparent` a job carries, when it is a well-formed one. */
export function jobTraceparent(data: unknown): string | undefined {
  const carried =
    data && typeof data === 'object'
      ? (data as WithLogContext<object>)[JOB_LOG_CONTEXT_KEY]
      : undefined;
  const value = carried?.traceparent;
  return typeof value === 'string' &&
    /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/.test(value)
    ? value
    : undefined;
}

interface JobLike {
  id: string | number;
  queue?: { name: string };
  data: unknown;
}

/** Consumers run each job inside its own context: jobId, queue and the producer's ids. */
export function runInJobContext<T>(job: JobLike, fn: () => T): T {
  const data = job.data as WithLogContext<object> | undefined;
  const carried = data && typeof data === 'object' ? data[JOB_LOG_CONTEXT_KEY] : undefined;
  return runWithLogContext(
    {
      requestId: typeof carried?.requestId === 'string' ? carried.requestId : undefined,
      userId: typeof carried?.userId === 'string' ? carried.userId : undefined,
      jobId: String(job.id),
      queue: job.queue?.name,
    },
    fn,
  );
}
