import { FinalProviderError, RetryableProviderError } from '@app/generations';
import { AttemptStopped, describeFailure, describeJobFailure } from './generation-failure';

describe('describeFailure', () => {
  it("keeps the provider's verdict, in the platform's words", () => {
    const rejected = new FinalProviderError('rejected the request (HTTP 400)', 'model x unknown');
    expect(describeFailure(rejected, 1000)).toEqual({
      retryable: false,
      message: 'Error calling provider: rejected the request (HTTP 400)',
    });
    expect(describeFailure(new RetryableProviderError('answered HTTP 503'), 1000)).toEqual({
      retryable: true,
      message: 'Error calling provider: answered HTTP 503',
    });
  });

  it('says why the worker stopped an attempt, every reason retryable', () => {
    expect(describeFailure(new AttemptStopped('deadline'), 300).message).toBe(
      'Error generating text: the attempt took longer than 300 ms',
    );
    expect(describeFailure(new AttemptStopped('bull-timeout'), 300).message).toBe(
      'Error generating text: the attempt took longer than 300 ms',
    );
    expect(describeFailure(new AttemptStopped('shutdown'), 300)).toEqual({
      retryable: true,
      message: 'Error generating text: the worker stopped during the attempt',
    });
    expect(describeFailure(new AttemptStopped('lock-lost'), 300).retryable).toBe(true);
  });

  it('never copies an unknown error into the record', () => {
    const failure = describeFailure(new Error('connect ECONNREFUSED 10.0.0.7:5432'), 300);
    expect(failure).toEqual({
      retryable: true,
      message: 'Error generating text: an unexpected error occurred',
    });
  });
});

describe('describeJobFailure', () => {
  it("translates Bull's reasons and hides any other", () => {
    expect(describeJobFailure('job stalled more than allowable limit', 300)).toBe(
      'Error running generation: the worker running it stopped before it finished, more than once',
    );
    expect(describeJobFailure('Promise timed out after 5300 milliseconds', 300)).toBe(
      'Error running generation: the attempt took longer than 300 ms',
    );
    for (const reason of ['Connection terminated unexpectedly at 10.0.0.7:5432', undefined])
      expect(describeJobFailure(reason, 300)).toBe(
        'Error running generation: an attempt failed and its outcome could not be recorded',
      );
  });
});
