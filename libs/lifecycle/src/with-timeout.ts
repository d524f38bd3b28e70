/** Work that did not finish in time; the message names what was waited for. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * The one bounded wait of the platform (health checks, enqueueing, shutdown): rejects with a
 * `TimeoutError` after `ms`, and always clears its timer so nothing is left to keep the process
 * alive. `work` itself is not cancelled; callers that can stop it pass it a signal of their own.
 */
export async function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
