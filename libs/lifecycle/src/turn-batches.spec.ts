import { AsyncLocalStorage } from 'node:async_hooks';
import { TurnBatches } from './turn-batches';

/** A batch runner that records its calls and finishes each when told to. */
function controlled() {
  const calls: Array<{ items: number[]; context?: string; finish: (fail?: Error) => void }> = [];
  const storage = new AsyncLocalStorage<string>();
  // an item of 13 fails alone; the call fails when told to
  const run = (items: number[]) =>
    new Promise<Array<PromiseSettledResult<number>>>((resolve, reject) => {
      calls.push({
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
  return { calls, storage, run };
}

const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatches', () => {
  it("runs one key's items of a turn together when the turn ends, each key on its own", async () => {
    const { calls, run } = controlled();
    const batches = new TurnBatches(run, 10);
    const a = [batches.submit('a', 1), batches.submit('a', 2), batches.submit('a', 3)];
    const b = batches.submit('b', 9);
    expect(calls).toEqual([]); // nothing before the turn ends
    await endOfTurn();
    expect(calls.map((call) => call.items)).toEqual([[1, 2, 3], [9]]);
    calls.forEach((call) => call.finish());
    await expect(Promise.all([...a, b])).resolves.toEqual([10, 20, 30, 90]);
  });

  it("does not hold a key's next items while its previous call runs", async () => {
    const { calls, run } = controlled();
    const batches = new TurnBatches(run, 10);
    const first = batches.submit('a', 1);
    await endOfTurn();
    const second = batches.submit('a', 2);
    await endOfTurn();
    // both calls are running: the second did not wait for the first to return
    expect(calls.map((call) => call.items)).toEqual([[1], [2]]);
    calls[1].finish();
    await expect(second).resolves.toBe(20);
    calls[0].finish();
    await expect(first).resolves.toBe(10);
  });

  it('cuts a long line into calls of at most maxBatch, each in its first item’s context', async () => {
    const { calls, storage, run } = controlled();
    const batches = new TurnBatches(run, 2);
    const all = [1, 2, 3, 4, 5].map((item) =>
      storage.run(`request-${item}`, () => batches.submit('a', item)),
    );
    await endOfTurn();
    calls.forEach((call) => call.finish());
    expect(await Promise.all(all)).toEqual([10, 20, 30, 40, 50]);
    expect(calls.map((call) => [call.items, call.context])).toEqual([
      [[1, 2], 'request-1'],
      [[3, 4], 'request-3'],
      [[5], 'request-5'],
    ]);
  });

  it('fails one item alone when the runner says so, and every item of a call that throws', async () => {
    const { calls, run } = controlled();
    const batches = new TurnBatches(run, 10);
    const settled = [batches.submit('a', 1), batches.submit('a', 13), batches.submit('a', 3)];
    const failed = [batches.submit('b', 4), batches.submit('b', 5)];
    await endOfTurn();
    calls[0].finish();
    calls[1].finish(new Error('redis away'));
    expect(await Promise.allSettled(settled)).toEqual([
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: new Error('unlucky') },
      { status: 'fulfilled', value: 30 },
    ]);
    expect(await Promise.allSettled(failed)).toEqual([
      { status: 'rejected', reason: new Error('redis away') },
      { status: 'rejected', reason: new Error('redis away') },
    ]);
  });
});
