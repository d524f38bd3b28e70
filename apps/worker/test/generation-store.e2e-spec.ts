import { Generation, GenerationStore } from '@app/generations';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TEST_DATABASE_URL } from '../../../test/support/test-env';

/** The store against the real, migrated test database: every transition and its guard. */
describe('GenerationStore (real PostgreSQL)', () => {
  const dataSource = new DataSource({
    type: 'postgres',
    url: TEST_DATABASE_URL,
    entities: [Generation],
  });
  const store = new GenerationStore(dataSource);
  const ownerId = `store-${randomUUID()}`;

  beforeAll(() => dataSource.initialize());
  afterAll(() => dataSource.destroy());

  const create = async (): Promise<Generation> => {
    const generation = await store.createQueued({
      ownerId,
      prompt: 'a prompt',
      model: 'local-dev-echo',
      maxTokens: null,
      temperature: null,
      requestId: null,
      idempotencyKey: null,
      requestHash: 'x'.repeat(64),
    });
    if (!generation) throw new Error('not created');
    return generation;
  };
  const statusOf = async (id: string): Promise<string | undefined> =>
    (await store.findOwned(ownerId, id))?.status;

  it('claims a queued generation, succeeds it once, and never claims it again', async () => {
    const { id } = await create();
    expect(await store.claim(id, 1)).toEqual({
      prompt: 'a prompt',
      model: 'local-dev-echo',
      maxTokens: null,
      temperature: null,
    });
    const running = await store.findOwned(ownerId, id);
    expect(running).toMatchObject({ status: 'running', attempts: 1 });
    expect(running?.startedAt).toBeInstanceOf(Date);
    const output = { text: 'done', promptTokens: 2, completionTokens: 1 };
    expect(await store.succeed(id, output)).toBe(true);
    expect(await store.succeed(id, output)).toBe(false);
    expect(await store.claim(id, 2)).toBeNull();
    expect(await store.findOwned(ownerId, id)).toMatchObject({
      status: 'succeeded',
      result: 'done',
      promptTokens: 2,
      completionTokens: 1,
    });
  });

  it('queues a retryable failure again, and fails the last attempt or a final failure', async () => {
    const retried = await create();
    await store.claim(retried.id, 1);
    const failure = { message: 'Error generating text: boom', retryable: true, maxAttempts: 3 };
    expect(await store.failAttempt(retried.id, { ...failure, attempt: 1 })).toBe('requeued');
    expect(await statusOf(retried.id)).toBe('queued');
    await store.claim(retried.id, 3);
    expect(await store.failAttempt(retried.id, { ...failure, attempt: 3 })).toBe('failed');
    expect(await store.findOwned(ownerId, retried.id)).toMatchObject({
      status: 'failed',
      error: 'Error generating text: boom',
      attempts: 3,
    });
    expect(await store.failAttempt(retried.id, { ...failure, attempt: 3 })).toBe('skipped');

    const final = await create();
    await store.claim(final.id, 1);
    expect(await store.failAttempt(final.id, { ...failure, retryable: false, attempt: 1 })).toBe(
      'failed',
    );
  });

  it('cancels only queued generations, and a cancelled one is never claimed', async () => {
    const queued = await create();
    expect((await store.cancel(ownerId, queued.id))?.status).toBe('cancelled');
    expect(await store.cancel(ownerId, queued.id)).toBeNull();
    expect(await store.claim(queued.id, 1)).toBeNull();
    expect(await store.cancel('someone-else', (await create()).id)).toBeNull();

    const running = await create();
    await store.claim(running.id, 1);
    expect(await store.cancel(ownerId, running.id)).toBeNull();
    expect(await statusOf(running.id)).toBe('running');
  });

  it('fails a record from outside an attempt only once its job has no attempt left', async () => {
    const { id } = await create();
    await store.claim(id, 1);
    const job = { maxAttempts: 3, message: 'Error running generation: stalled' };
    expect(await store.failExhausted(id, { ...job, attemptsMade: 2 })).toBe(false);
    expect(await statusOf(id)).toBe('running');
    expect(await store.failExhausted(id, { ...job, attemptsMade: 3 })).toBe(true);
    expect(await statusOf(id)).toBe('failed');
    expect(await store.failExhausted(id, { ...job, attemptsMade: 3 })).toBe(false);
  });

  it('lists unfinished generations for the reconciler and re-queues an orphaned one', async () => {
    const queued = await create();
    const running = await create();
    await store.claim(running.id, 1);
    const done = await create();
    await store.cancel(ownerId, done.id);
    const unfinished = await store.findUnfinished(new Date(Date.now() + 60_000), 10_000);
    const mine = new Map(unfinished.map((row) => [row.id, row.status]));
    expect(mine.get(queued.id)).toBe('queued');
    expect(mine.get(running.id)).toBe('running');
    expect(mine.has(done.id)).toBe(false);
    await store.requeueOrphan(running.id);
    expect(await statusOf(running.id)).toBe('queued');
  });

  it('deletes only finished generations completed before the cutoff', async () => {
    const old = new Date(Date.now() - 40 * 86_400_000);
    const ids: Record<string, string> = {};
    for (const status of ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'recent']) {
      const { id } = await create();
      ids[status] = id;
      await dataSource.query(
        'UPDATE generations SET status = $2, completed_at = $3 WHERE id = $1',
        [id, status === 'recent' ? 'succeeded' : status, status === 'recent' ? new Date() : old],
      );
    }
    const deleted = await store.deleteFinishedBefore(new Date(Date.now() - 30 * 86_400_000));
    expect(deleted).toBeGreaterThanOrEqual(3);
    for (const status of ['succeeded', 'failed', 'cancelled'])
      expect(await statusOf(ids[status])).toBeUndefined();
    for (const status of ['queued', 'running']) expect(await statusOf(ids[status])).toBe(status);
    expect(await statusOf(ids.recent)).toBe('succeeded');
  });
});
