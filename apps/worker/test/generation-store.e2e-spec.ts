import { Generation, GenerationStore, KeyUsage, estimateTokens } from '@app/generations';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TEST_DATABASE_URL } from '../../../test/support/test-env';

/** The store against the real, migrated test database: every transition and its guard. */
describe('GenerationStore (real PostgreSQL)', () => {
  const dataSource = new DataSource({
    type: 'postgres',
    url: TEST_DATABASE_URL,
    entities: [Generation, KeyUsage],
    extra: { max: 25 },
  });
  const store = new GenerationStore(dataSource);
  const ownerId = `store-${randomUUID()}`;
  const budget = {
    maxAttempts: 3,
    exhausted: 'Error running generation: no attempt left',
    dailyTokens: 0,
    overBudget: 'Error running generation: the daily token budget was spent',
  };
  const output = { text: 'done', promptTokens: 2, completionTokens: 1 };
  const failure = { message: 'Error generating text: boom', retryable: true, maxAttempts: 3 };

  beforeAll(() => dataSource.initialize());
  afterAll(async () => {
    // no record of these tests is left for another suite's reconciler to pick up
    await dataSource.query('DELETE FROM generations WHERE owner_id = $1', [ownerId]);
    await dataSource.query('DELETE FROM api_key_usage WHERE api_key_id = ANY($1)', [keysUsed]);
    await dataSource.destroy();
  });

  const newGeneration = (apiKeyId: string | null = null, prompt = 'a prompt') => ({
    ownerId,
    apiKeyId,
    prompt,
    model: 'local-dev-echo',
    maxTokens: null,
    temperature: null,
    requestId: null,
    traceparent: null,
    callbackUrl: null,
    idempotencyKey: null,
    requestHash: 'x'.repeat(64),
  });
  const create = async (apiKeyId: string | null = null, prompt = 'a prompt') => {
    const created = await store.createQueued(newGeneration(apiKeyId, prompt));
    if (created.outcome !== 'created') throw new Error(`not created: ${created.outcome}`);
    return created.generation;
  };
  const keysUsed: string[] = [];
  const newKey = (): string => {
    const key = randomUUID();
    keysUsed.push(key);
    return key;
  };
  /** The key's usage row for today, as numbers (all zero when there is none). */
  const usageToday = async (apiKeyId: string) => {
    const [row] = (await dataSource.query(
      `SELECT sum(generations)::int AS generations, sum(succeeded)::int AS succeeded,
              sum(failed)::int AS failed, sum(cancelled)::int AS cancelled,
              sum(prompt_tokens)::int AS "promptTokens",
              sum(completion_tokens)::int AS "completionTokens"
         FROM api_key_usage WHERE api_key_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date
        HAVING count(*) > 0`,
      [apiKeyId],
    )) as Array<Record<string, number>>;
    return (
      row ?? {
        generations: 0,
        succeeded: 0,
        failed: 0,
        cancelled: 0,
        promptTokens: 0,
        completionTokens: 0,
      }
    );
  };
  const read = async (id: string): Promise<Generation | null> => store.findOwned(ownerId, id);
  /** Every statement the store sends from now on, until `spy.mockRestore()`. */
  const recordStatements = () => {
    const statements: string[] = [];
    const createRunner = dataSource.createQueryRunner.bind(dataSource);
    const spy = jest.spyOn(dataSource, 'createQueryRunner').mockImplementation((mode) => {
      const runner = createRunner(mode);
      const query = runner.query.bind(runner);
      runner.query = ((sql: string, ...rest: unknown[]) => {
        statements.push(sql);
        return (query as (...args: unknown[]) => Promise<unknown>)(sql, ...rest);
      }) as typeof runner.query;
      return runner;
    });
    return { statements, spy };
  };
  const statusOf = async (id: string): Promise<string | undefined> => (await read(id))?.status;

  it('claims a queued generation, succeeds it once, and never claims it again', async () => {
    const { id } = await create();
    expect(await store.claim(id, budget)).toEqual({
      outcome: 'claimed',
      attempt: 1,
      startedAt: (await read(id))?.startedAt,
      generation: {
        prompt: 'a prompt',
        model: 'local-dev-echo',
        maxTokens: null,
        temperature: null,
      },
    });
    const running = await read(id);
    expect(running).toMatchObject({ status: 'running', attempts: 1 });
    expect(running?.startedAt).toBeInstanceOf(Date);
    expect(await store.succeed(id, 1, output)).toBe(true);
    expect(await store.succeed(id, 1, output)).toBe(false);
    expect(await store.claim(id, budget)).toEqual({ outcome: 'finished' });
    expect(await read(id)).toMatchObject({
      status: 'succeeded',
      result: 'done',
      promptTokens: 2,
      completionTokens: 1,
      attempts: 1,
    });
  });

  it('commits a claim that only starts an attempt without waiting for its WAL flush, and nothing else', async () => {
    /** What `synchronous_commit` the claim's transaction commits with, and the claim's status. */
    const claimCommit = (id: string, maxAttempts = 3) =>
      dataSource.transaction(async (manager) => {
        const [claimed] = (await manager.query(
          'SELECT status FROM generation_claim($1::uuid, $2::int, $3::text, $4::int, $5::text)',
          [id, maxAttempts, budget.exhausted, 0, budget.overBudget],
        )) as Array<{ status: string }>;
        const [{ setting }] = (await manager.query(
          "SELECT current_setting('synchronous_commit') AS setting",
        )) as Array<{ setting: string }>;
        return [claimed?.status, setting];
      });
    const lease = await create();
    expect(await claimCommit(lease.id)).toEqual(['running', 'off']); // queued → running
    // running again (its worker died): the dead attempt's prompt is counted, synchronously
    expect(await claimCommit(lease.id)).toEqual(['running', 'on']);
    const exhausted = await create();
    expect(await claimCommit(exhausted.id, 0)).toEqual(['failed', 'on']); // a final state
    expect(await claimCommit(exhausted.id)).toEqual([undefined, 'on']); // nothing to claim
    const [{ setting }] = (await dataSource.query(
      "SELECT current_setting('synchronous_commit') AS setting",
    )) as Array<{ setting: string }>;
    expect(setting).toBe('on'); // the next transaction on a connection is synchronous again
  });

  it('queues a retryable failure again, and fails the last attempt or a final failure', async () => {
    const retried = await create();
    await store.claim(retried.id, budget);
    expect(await store.failAttempt(retried.id, { ...failure, attempt: 1 })).toBe('requeued');
    expect(await statusOf(retried.id)).toBe('queued');
    await store.claim(retried.id, budget);
    await store.failAttempt(retried.id, { ...failure, attempt: 2 });
    await store.claim(retried.id, budget);
    expect(await store.failAttempt(retried.id, { ...failure, attempt: 3 })).toBe('failed');
    expect(await read(retried.id)).toMatchObject({
      status: 'failed',
      error: 'Error generating text: boom',
      attempts: 3,
    });
    expect(await store.failAttempt(retried.id, { ...failure, attempt: 3 })).toBe('skipped');

    const final = await create();
    await store.claim(final.id, budget);
    expect(await store.failAttempt(final.id, { ...failure, retryable: false, attempt: 1 })).toBe(
      'failed',
    );
  });

  it('counts every claim as a try, and fails the record once its budget is spent', async () => {
    const { id } = await create();
    // a worker died mid-attempt twice: the stalled re-runs claim a running record again
    for (const attempt of [1, 2, 3])
      expect(await store.claim(id, budget)).toMatchObject({ outcome: 'claimed', attempt });
    expect(await store.claim(id, budget)).toEqual({ outcome: 'exhausted' });
    expect(await read(id)).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'Error running generation: no attempt left',
    });
  });

  it('ignores every write of an attempt once a newer attempt has started', async () => {
    const { id } = await create();
    await store.claim(id, budget);
    await store.claim(id, budget); // the job ran again elsewhere: attempt 2 owns the record
    expect(await store.failAttempt(id, { ...failure, attempt: 1 })).toBe('skipped');
    expect(await store.succeed(id, 1, { ...output, text: 'stale' })).toBe(false);
    await store.requeueOrphan(id, 1);
    expect(await read(id)).toMatchObject({ status: 'running', attempts: 2 });
    expect(await store.succeed(id, 2, output)).toBe(true);
    expect(await read(id)).toMatchObject({ status: 'succeeded', result: 'done', attempts: 2 });
  });

  it('cancels queued and running generations, and a cancelled one is never claimed', async () => {
    const queued = await create();
    expect(await store.cancel(ownerId, queued.id)).toMatchObject({
      generation: { id: queued.id, status: 'cancelled', completedAt: expect.any(Date) },
      wasRunning: false,
    });
    expect(await store.cancel(ownerId, queued.id)).toBeNull();
    expect(await store.claim(queued.id, budget)).toEqual({ outcome: 'finished' });
    expect(await store.cancel('someone-else', (await create()).id)).toBeNull();

    // running: cancelled at once; the attempt's later writes change nothing
    const running = await create();
    await store.claim(running.id, budget);
    expect(await store.cancelledAmong([running.id, queued.id])).toEqual([queued.id]);
    expect(await store.cancel(ownerId, running.id)).toMatchObject({
      generation: { status: 'cancelled' },
      wasRunning: true,
    });
    expect(await store.cancelledAmong([running.id])).toEqual([running.id]);
    expect(await store.succeed(running.id, 1, output)).toBe(false);
    expect(await store.failAttempt(running.id, { ...failure, attempt: 1 })).toBe('skipped');
    expect(await read(running.id)).toMatchObject({ status: 'cancelled', result: null });

    // finished ones stay as they are
    const done = await create();
    await store.claim(done.id, budget);
    await store.succeed(done.id, 1, output);
    expect(await store.cancel(ownerId, done.id)).toBeNull();
    expect(await statusOf(done.id)).toBe('succeeded');
  });

  it('ends a cancel racing a success in one state: cancelled without a result, or succeeded', async () => {
    for (let round = 0; round < 20; round += 1) {
      const { id } = await create();
      await store.claim(id, budget);
      const [cancelled, succeeded] = await Promise.all([
        store.cancel(ownerId, id),
        store.succeed(id, 1, output),
      ]);
      expect(cancelled === null).toBe(succeeded);
      const row = await read(id);
      if (succeeded) expect(row).toMatchObject({ status: 'succeeded', result: 'done' });
      else expect(row).toMatchObject({ status: 'cancelled', result: null });
    }
  });

  it('settles a failed job: fails a running record, re-queues a queued one with attempts left', async () => {
    const job = { message: 'Error running generation: stalled', maxAttempts: 3 };
    const running = await create();
    await store.claim(running.id, budget);
    expect(await store.settleFailedJob(running.id, job)).toBe('failed');
    expect(await read(running.id)).toMatchObject({ status: 'failed', error: job.message });
    expect(await store.settleFailedJob(running.id, job)).toBe('none');

    const neverRan = await create();
    expect(await store.settleFailedJob(neverRan.id, job)).toBe('requeue');
    expect(await statusOf(neverRan.id)).toBe('queued');
  });

  it('pages through unfinished generations for the reconciler, and re-queues an orphan', async () => {
    const queued = await create();
    const running = await create();
    await store.claim(running.id, budget);
    const done = await create();
    await store.cancel(ownerId, done.id);
    // five more created within one millisecond (the column keeps microseconds)
    const sameMillisecond = await dataSource.query(
      `INSERT INTO generations (owner_id, status, prompt, model, created_at)
       SELECT $1, 'queued', 'p', 'm', timestamp with time zone '2026-01-01 00:00:00.000100+00' + n * interval '100 microseconds'
         FROM generate_series(1, 5) AS n RETURNING id`,
      [ownerId],
    );
    const cutoff = new Date(Date.now() + 60_000);
    const seen = new Map<string, string>();
    let page = await store.findUnfinished(cutoff, 2);
    while (page.length > 0) {
      for (const row of page) {
        expect(seen.has(row.id)).toBe(false);
        seen.set(row.id, row.status);
      }
      page = await store.findUnfinished(cutoff, 2, page[page.length - 1]);
    }
    expect(seen.get(queued.id)).toBe('queued');
    expect(seen.get(running.id)).toBe('running');
    expect(seen.has(done.id)).toBe(false);
    for (const { id } of sameMillisecond as Array<{ id: string }>)
      expect(seen.get(id)).toBe('queued');
    await store.requeueOrphan(running.id, 1);
    expect(await statusOf(running.id)).toBe('queued');
  });

  it("reads an owner's generations that arrive while one runs in one statement, each its own row and never another owner's", async () => {
    const mine = [
      await create(null, 'first'),
      await create(null, 'second'),
      await create(null, 'third'),
    ];
    const otherOwner = `${ownerId}-other`;
    const theirs = await store.createQueued({ ...newGeneration(), ownerId: otherOwner });
    if (theirs.outcome !== 'created') throw new Error('not created');
    const { statements, spy } = recordStatements();
    try {
      const asked = [
        ...Array.from({ length: 9 }, (_, index) => mine[index % 3].id),
        theirs.generation.id, // another owner's: none, even in a batch with found rows
        randomUUID(), // nobody's
        'not-a-uuid', // PostgreSQL refuses it: it fails alone, the batch's others are answered
      ];
      const [results, theirOwn] = await Promise.all([
        Promise.allSettled(asked.map((id) => store.findOwned(ownerId, id))),
        store.findOwned(otherOwner, theirs.generation.id),
      ]);
      const selects = statements.filter((sql) => sql.includes('FROM generations WHERE id = $1'));
      const batches = statements.filter((sql) => sql.includes('unnest($2::uuid[])'));
      // the first read alone, the rest in one statement (refused for 'not-a-uuid', so then each
      // alone); the other owner's read in a line of its own
      expect(batches).toHaveLength(1);
      expect(selects).toHaveLength(2 + asked.length - 1);
      expect(results.slice(0, 9)).toEqual(
        mine.flatMap(() =>
          mine.map((generation) => ({
            status: 'fulfilled',
            value: expect.objectContaining({
              id: generation.id,
              ownerId,
              prompt: generation.prompt,
            }),
          })),
        ),
      );
      expect(results.slice(9, 11)).toEqual([
        { status: 'fulfilled', value: null },
        { status: 'fulfilled', value: null },
      ]);
      expect(results[11]).toMatchObject({ status: 'rejected' });
      expect(theirOwn).toMatchObject({ id: theirs.generation.id, ownerId: otherOwner });
    } finally {
      spy.mockRestore();
      await dataSource.query('DELETE FROM generations WHERE owner_id = $1', [otherOwner]);
    }
  });

  it("answers a batch of an owner's reads in one statement when PostgreSQL takes them all", async () => {
    const mine = [await create(null, 'one'), await create(null, 'two')];
    const { statements, spy } = recordStatements();
    try {
      const asked = [mine[0].id, mine[1].id, randomUUID(), mine[1].id, mine[0].id];
      const found = await Promise.all(asked.map((id) => store.findOwned(ownerId, id)));
      expect(found.map((generation) => generation?.prompt ?? null)).toEqual([
        'one',
        'two',
        null,
        'two',
        'one',
      ]);
      // the first alone, the four that arrived while it ran together
      expect(statements).toHaveLength(2);
      expect(statements[1]).toContain('unnest($2::uuid[])');
    } finally {
      spy.mockRestore();
    }
  });

  it('deletes only finished generations completed before the cutoff, in batches', async () => {
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
    // more than one batch of expired rows
    await dataSource.query(
      `INSERT INTO generations (owner_id, status, prompt, model, completed_at)
       SELECT $1, 'succeeded', 'p', 'm', $2 FROM generate_series(1, 1500)`,
      [ownerId, old],
    );
    const deleted = await store.deleteFinishedBefore(new Date(Date.now() - 30 * 86_400_000));
    expect(deleted).toBeGreaterThanOrEqual(1503);
    for (const status of ['succeeded', 'failed', 'cancelled'])
      expect(await statusOf(ids[status])).toBeUndefined();
    for (const status of ['queued', 'running']) expect(await statusOf(ids[status])).toBe(status);
    expect(await statusOf(ids.recent)).toBe('succeeded');
  });

  describe('per-key usage, counted by the statements that change the records', () => {
    const prompt = 'four words of prompt';

    it('counts a created, succeeded, failed and cancelled generation and every attempt', async () => {
      const key = newKey();
      const succeeded = await create(key, prompt);
      await store.claim(succeeded.id, budget);
      await store.succeed(succeeded.id, 1, { text: 'x', promptTokens: 10, completionTokens: 5 });
      const retried = await create(key, prompt);
      await store.claim(retried.id, budget);
      // a failed attempt without a provider's count: the prompt estimated, plus what it produced
      await store.failAttempt(retried.id, { ...failure, attempt: 1, producedTokens: 2 });
      await store.claim(retried.id, budget);
      await store.failAttempt(retried.id, { ...failure, retryable: false, attempt: 2 });
      const cancelled = await create(key, prompt);
      await store.cancel(ownerId, cancelled.id);
      // cancelled while running: the provider had the prompt, estimated
      const stopped = await create(key, prompt);
      await store.claim(stopped.id, budget);
      await store.cancel(ownerId, stopped.id);
      expect(await usageToday(key)).toEqual({
        generations: 4,
        succeeded: 1,
        failed: 1,
        cancelled: 2,
        promptTokens: 10 + 4 + 4 + 4,
        completionTokens: 5 + 2,
      });
    });

    it('estimates a prompt the provider did not count, in SQL as the local provider counts', async () => {
      const key = newKey();
      const prompts = ['one', '  two  words ', 'tabs\tand\nnew lines  here', 'x '.repeat(50)];
      for (const text of prompts) {
        const { id } = await create(key, text);
        await store.claim(id, budget);
        await store.succeed(id, 1, { text: 'r', promptTokens: null, completionTokens: 1 });
        expect((await read(id))?.promptTokens).toBe(estimateTokens(text));
      }
      expect((await usageToday(key)).promptTokens).toBe(
        prompts.reduce((sum, text) => sum + estimateTokens(text), 0),
      );
    });

    it('counts the attempt of a worker that died, and takes back a POST the queue refused', async () => {
      const key = newKey();
      const orphan = await create(key, prompt);
      await store.claim(orphan.id, budget);
      await store.requeueOrphan(orphan.id, 1);
      // the job ran again while its record still said running: attempt 1 ended with its worker
      const stalled = await create(key, prompt);
      await store.claim(stalled.id, budget);
      await store.claim(stalled.id, budget);
      const settled = await create(key, prompt);
      await store.claim(settled.id, budget);
      await store.settleFailedJob(settled.id, { message: 'Error: stalled', maxAttempts: 3 });
      const refused = await create(key, prompt);
      await store.discardUnqueued(refused.id);
      expect(await usageToday(key)).toMatchObject({
        generations: 3,
        failed: 1,
        promptTokens: 3 * 4,
      });
    });

    it('admits exactly the active cap from 20 parallel creates, and frees a slot when one ends', async () => {
      const key = newKey();
      const quota = { maxActive: 5, dailyTokens: 0 };
      const attempt = () => store.createQueued(newGeneration(key, prompt), quota);
      const results = await Promise.all(Array.from({ length: 20 }, attempt));
      const created = results.filter((result) => result.outcome === 'created');
      expect(created).toHaveLength(5);
      expect(results.filter((result) => result.outcome === 'max_active')).toHaveLength(15);
      expect((await attempt()).outcome).toBe('max_active');
      const first = created[0] as { generation: Generation };
      await store.cancel(ownerId, first.generation.id);
      expect((await attempt()).outcome).toBe('created');
      expect((await attempt()).outcome).toBe('max_active');
      expect((await usageToday(key)).generations).toBe(6);
    });

    it("sends a key's creates that arrive while one runs together: each its own record, in order", async () => {
      const key = newKey();
      const quota = { maxActive: 50, dailyTokens: 0 };
      const { statements, spy } = recordStatements();
      try {
        const inputs = Array.from({ length: 12 }, (_, index) => ({
          ...newGeneration(key, `prompt ${index}`),
          maxTokens: index + 1,
          temperature: index % 2 ? 0.5 : null,
          requestId: `req-${index}`,
          // two creates with one Idempotency-Key: the first is created, the second is not
          idempotencyKey: index === 3 || index === 4 ? `idem-${key}` : null,
          callbackUrl: index === 5 ? 'https://hooks.example.com/done' : null,
          // PostgreSQL refuses this one (varchar(128)): it fails alone, the others are created
          model: index === 7 ? 'm'.repeat(200) : 'local-dev-echo',
        }));
        const results = await Promise.allSettled(
          inputs.map((input) => store.createQueued(input, quota)),
        );
        expect(statements.filter((sql) => sql.includes('generation_create_batch')).length).toBe(1);
        expect(results[7]).toMatchObject({ status: 'rejected' });
        expect(results[4]).toEqual({ status: 'fulfilled', value: { outcome: 'duplicate' } });
        const created = results.flatMap((result, index) =>
          result.status === 'fulfilled' && result.value.outcome === 'created'
            ? [{ index, generation: result.value.generation }]
            : [],
        );
        expect(created.map(({ index }) => index)).toEqual([0, 1, 2, 3, 5, 6, 8, 9, 10, 11]);
        for (const { index, generation } of created) {
          expect(generation).toMatchObject({
            ownerId,
            apiKeyId: key,
            status: 'queued',
            prompt: `prompt ${index}`,
            maxTokens: index + 1,
            temperature: index % 2 ? 0.5 : null,
            requestId: `req-${index}`,
            callbackUrl: index === 5 ? 'https://hooks.example.com/done' : null,
            callbackState: index === 5 ? 'pending' : null,
          });
          expect(await read(generation.id)).toMatchObject({ prompt: `prompt ${index}` });
        }
        expect((await usageToday(key)).generations).toBe(10);
      } finally {
        spy.mockRestore();
      }
    });

    it("admits the active cap across a key's batches, in arrival order", async () => {
      const key = newKey();
      const quota = { maxActive: 3, dailyTokens: 0 };
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, index) =>
          store.createQueued(newGeneration(key, `prompt ${index}`), quota),
        ),
      );
      expect(results.map((result) => result.outcome)).toEqual([
        ...Array<string>(3).fill('created'),
        ...Array<string>(5).fill('max_active'),
      ]);
      expect((await usageToday(key)).generations).toBe(3);
    });

    it("fails a queued generation whose key spent the day's tokens before it started", async () => {
      const key = newKey();
      const first = await create(key, prompt);
      const second = await create(key, prompt);
      const withBudget = { ...budget, dailyTokens: 100 };
      await store.claim(first.id, withBudget);
      await store.succeed(first.id, 1, { text: 'x', promptTokens: 60, completionTokens: 40 });
      expect(await store.claim(second.id, withBudget)).toEqual({ outcome: 'over_budget' });
      expect(await read(second.id)).toMatchObject({
        status: 'failed',
        attempts: 0,
        error: budget.overBudget,
      });
      // without a budget (DAILY_TOKEN_BUDGET=0, the key has none of its own) it runs
      const third = await create(key, prompt);
      expect(await store.claim(third.id, budget)).toMatchObject({ outcome: 'claimed' });
      expect(await usageToday(key)).toMatchObject({ generations: 3, succeeded: 1, failed: 1 });
    });

    it("refuses a key whose recorded tokens reached the day's budget", async () => {
      const key = newKey();
      const { id } = await create(key, prompt);
      await store.claim(id, budget);
      await store.succeed(id, 1, { text: 'x', promptTokens: 60, completionTokens: 40 });
      const input = newGeneration(key, prompt);
      expect(await store.createQueued(input, { maxActive: 5, dailyTokens: 100 })).toEqual({
        outcome: 'daily_tokens',
        used: 100,
      });
      expect((await store.createQueued(input, { maxActive: 5, dailyTokens: 101 })).outcome).toBe(
        'created',
      );
      expect(
        (
          await store.createQueued(
            { ...input, apiKeyId: newKey() },
            { maxActive: 5, dailyTokens: 100 },
          )
        ).outcome,
      ).toBe('created');
    });
  });
});
