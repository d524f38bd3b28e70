import { errorMessage } from '@app/exceptions';
import { FinalProviderError, RetryableProviderError } from '@app/generations';

/** What the record says about a failed attempt, and whether another attempt may help. */
export interface FailureDescription {
  retryable: boolean;
  message: string;
}

/**
 * Classifies an attempt's error: the provider's own verdict when it gave one, a timeout when
 * the attempt's deadline (`timeoutMs`) aborted it, anything else retryable with a generic
 * message (the original goes to the logs, never to the record).
 */
export function describeFailure(error: unknown, timeoutMs: number): FailureDescription {
  if (error instanceof FinalProviderError) {
    return { retryable: false, message: errorMessage('generating text', error.message) };
  }
  if (error instanceof RetryableProviderError) {
    return { retryable: true, message: errorMessage('generating text', error.message) };
  }
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return {
      retryable: true,
      message: errorMessage('generating text', `the attempt took longer than ${timeoutMs} ms`),
    };
  }
  return {
    retryable: true,
    message: errorMessage('generating text', 'an unexpected error occurred'),
  };
}
