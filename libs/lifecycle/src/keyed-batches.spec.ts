import { AsyncLocalStorage } from 'node:async_hooks';
import { KeyedBatches } from './keyed-batches';

/** A batch runner that records its batches and finishes each when told to. */
function controlled() {
  const batches: Array<{ items: number[]; context?: string; finish: (fail?: Error) => void }> = [];
  const storage = new AsyncLocalStorage<string>();
  // an item of 13 fails alone; the batch fails when told to
  const run = (items: number[]) =>
    new Promise<Array<PromiseSettledResult<number>>>((resolve, reject) => {
      batches.push({
        items,
        context: storage.getStore(),
        finish: (fail) =>
          fail
            ? reject(fail)
            : resolve(
                items.map((item) =>
                  item === 13
                    ? { status: 'rejected', reason: new Error('unlucky') }
                    : { status: 'fulfilled', value: item * 10 },
                ),
              ),
      });
    });
  return { batches, storage, run };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedBatches', () => {
  it('runs a lone item at once, and gathers what arrives meanwhile into the next batch', async () => {
    const { batches, run } = controlled();
    const keyed = new KeyedBatches(run, 2);
    const first = keyed.submit('a', 1);
    expect(batches.map((batch) => batch.items)).toEqual([[1]]);
    const rest = [keyed.submit('a', 2), keyed.submit('a', 3), keyed.submit('a', 4)];
    const other = keyed.submit('b', 9); // another key does not wait
    expect(batches.map((batch) => batch.items)).toEqual([[1], [9]]);

    batches[0].finish();
    await expect(first).resolves.toBe(10);
    await tick();
    expect(batches.map((batch) => batch.items)).toEqual([[1], [9], [2, 3]]);
    batches[2].finish();
    await tick();
    expect(batches[3].items).toEqual([4]); // at most maxBatch at a time
    batches[3].finish();
    batches[1].finish();
    await expect(Promise.all([...rest, other])).resolves.toEqual([20, 30, 40, 90]);

    keyed.submit('a', 5).catch(() => undefined);
    expect(batches[4].items).toEqual([5]); // the key's line was closed: a new item runs at once
  });

  it('fails one item alone when the runner says so', async () => {
    const { batches, run } = controlled();
    const keyed = new KeyedBatches(run, 10);
    const first = keyed.submit('a', 1);
    const rest = [keyed.submit('a', 2), keyed.submit('a', 13), keyed.submit('a', 4)];
    batches[0].finish();
    await first;
    await tick();
    batches[1].finish();
    expect(await Promise.allSettled(rest)).toEqual([
      { status: 'fulfilled', value: 20 },
      { status: 'rejected', reason: new Error('unlucky') },
      { status: 'fulfilled', value: 40 },
    ]);
  });

  it("rejects every item of a failed batch, and carries on with the key's next one", async () => {
    const { batches, run } = controlled();
    const keyed = new KeyedBatches(run, 10);
    const first = keyed.submit('a', 1);
    const second = keyed.submit('a', 2);
    const third = keyed.submit('a', 3);
    batches[0].finish(new Error('database away'));
    await expect(first).rejects.toThrow('database away');
    await tick();
    batches[1].finish(new Error('still away'));
    await expect(second).rejects.toThrow('still away');
    await expect(third).rejects.toThrow('still away');
  });

  it('runs each batch in the async context of its first item', async () => {
    const { batches, storage, run } = controlled();
    const keyed = new KeyedBatches(run, 10);
    const first = storage.run('request-1', () => keyed.submit('a', 1));
    const second = storage.run('request-2', () => keyed.submit('a', 2));
    const third = storage.run('request-3', () => keyed.submit('a', 3));
    batches[0].finish();
    await first;
    await tick();
    batches[1].finish();
    await Promise.all([second, third]);
    expect(batches.map((batch) => [batch.items, batch.context])).toEqual([
      [[1], 'request-1'],
      [[2, 3], 'request-2'],
    ]);
  });

  it('gives the first item of every batch its context when a line splits into several', async () => {
    const { batches, storage, run } = controlled();
    const keyed = new KeyedBatches(run, 2);
    const all = [1, 2, 3, 4, 5, 6].map((item) =>
      storage.run(`request-${item}`, () => keyed.submit('a', item)),
    );
    for (let finished = 0; finished < 4; finished += 1) {
      await tick();
      batches[finished].finish();
    }
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches.map((batch) => [batch.items, batch.context])).toEqual([
      [[1], 'request-1'],
      [[2, 3], 'request-2'],
      [[4, 5], 'request-4'],
      [[6], 'request-6'],
    ]);
  });
});
