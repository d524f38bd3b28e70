import { errorMessage } from '@app/exceptions';
import { FinalProviderError, RetryableProviderError } from '@app/generations';

/** Why the worker stopped an attempt before it ended by itself. */
export type StopReason = 'deadline' | 'shutdown' | 'lock-lost' | 'bull-timeout' | 'cancelled';

/** Whether an attempt was stopped because its client cancelled the generation. */
export function stoppedByCancel(signal: AbortSignal): boolean {
  return (
    signal.aborted &&
    signal.reason instanceof AttemptStopped &&
    signal.reason.reason === 'cancelled'
  );
}

/** The reason an attempt's AbortController is aborted with. */
export class AttemptStopped extends Error {
  constructor(readonly reason: StopReason) {
    super(`attempt stopped: ${reason}`);
    this.name = 'AttemptStopped';
  }
}

/** What the record says about a failed attempt, and whether another attempt may help. */
export interface FailureDescription {
  retryable: boolean;
  message: string;
}

const generating = (details: string): string => errorMessage('generating text', details);
const calling = (details: string): string => errorMessage('calling provider', details);

/**
 * Classifies an attempt's error: the provider's own verdict when it gave one, the worker's
 * reason when it stopped the attempt (its deadline `timeoutMs`, a shutdown, a lost lock), anything
 * else retryable with a generic message (the original goes to the logs, never to the record).
 */
export function describeFailure(error: unknown, timeoutMs: number): FailureDescription {
  if (error instanceof FinalProviderError)
    return { retryable: false, message: calling(error.message) };
  if (error instanceof RetryableProviderError)
    return { retryable: true, message: calling(error.message) };
  if (error instanceof AttemptStopped) {
    switch (error.reason) {
      case 'shutdown':
        return { retryable: true, message: generating('the worker stopped during the attempt') };
      case 'lock-lost':
        return {
          retryable: true,
          message: generating('the worker lost the job during the attempt'),
        };
      default:
        return {
          retryable: true,
          message: generating(`the attempt took longer than ${timeoutMs} ms`),
        };
    }
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return { retryable: true, message: generating(`the attempt took longer than ${timeoutMs} ms`) };
  }
  return { retryable: true, message: generating('an unexpected error occurred') };
}

/**
 * What a record says when Bull gave up on its job outside an attempt; Bull's own reasons are
 * translated, anything else (a driver message with a host in it) never reaches the record.
 */
export function describeJobFailure(reason: string | undefined, timeoutMs: number): string {
  if (reason?.includes('stalled more than allowable limit'))
    return errorMessage(
      'running generation',
      'the worker running it stopped before it finished, more than once',
    );
  if (reason?.startsWith('Promise timed out'))
    return errorMessage('running generation', `the attempt took longer than ${timeoutMs} ms`);
  return errorMessage(
    'running generation',
    'an attempt failed and its outcome could not be recorded',
  );
}
