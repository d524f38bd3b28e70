import { getLogContext, runWithLogContext } from './log-context';
import { runInJobContext, withLogContext } from './job-context';

describe('job context', () => {
  it('carries the producer request context inside the job data', () => {
    const data = runWithLogContext({ requestId: 'r-1', userId: 'u-1' }, () =>
      withLogContext({ generationId: 'g-1' }),
    );
    expect(data).toEqual({ generationId: 'g-1', logContext: { requestId: 'r-1', userId: 'u-1' } });
  });

  it('leaves data alone outside a request', () => {
    expect(withLogContext({ a: 1 })).toEqual({ a: 1 });
  });

  it('runs a job with its jobId, queue and the producer ids', () => {
    const job = {
      id: 7,
      queue: { name: 'q' },
      data: { logContext: { requestId: 'r-9', userId: 'u-9' } },
    };
    expect(runInJobContext(job, () => getLogContext())).toEqual({
      requestId: 'r-9',
      userId: 'u-9',
      jobId: '7',
      queue: 'q',
    });
  });

  it('ignores a forged context that is not made of strings', () => {
    const job = { id: 1, data: { logContext: { requestId: { $ne: 1 } } } };
    expect(runInJobContext(job, () => getLogContext()?.requestId)).toBeUndefined();
  });
});
