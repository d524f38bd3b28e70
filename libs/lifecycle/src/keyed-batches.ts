import { AsyncResource } from 'node:async_hooks';

export type Results<O> = Promise<Array<PromiseSettledResult<O>>>;

export interface Waiting<I, O> {
  item: I;
  resolve(result: O): void;
  reject(error: unknown): void;
  /**
   * Runs a function in the async context of the call that submitted this item — captured only
   * for an item that will be the first of a batch (capturing costs microseconds per item).
   */
  inContext?: (fn: () => Results<O>) => Results<O>;
}

/**
 * Work that runs one batch at a time per key: the first item of a key runs at once, alone;
 * items of that key that arrive while it runs wait and then run together, up to `maxBatch` at
 * a time. A lone item waits for nothing; under load, one round trip serves many. Each batch
 * runs in the async context (log fields, trace) of its first item. The runner settles each
 * item (one may fail alone); when it throws, every item of the batch fails with that error.
 */
export class KeyedBatches<I, O> {
  /** A key is here while one of its batches runs; its value is what waits for the next. */
  private readonly lines = new Map<string, Waiting<I, O>[]>();

  constructor(
    private readonly runBatch: (items: I[]) => Results<O>,
    private readonly maxBatch: number,
  ) {}

  submit(key: string, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const line = this.lines.get(key);
      if (line) {
        // batches are taken `maxBatch` at a time from the front: this item will be the first of
        // one exactly when it lands on a multiple of `maxBatch`
        const first = line.length % this.maxBatch === 0;
        line.push({
          item,
          resolve,
          reject,
          inContext: first ? contextBinder<O>() : undefined,
        });
        return;
      }
      this.lines.set(key, []);
      // the first batch starts here, synchronously: in this call's own context
      void this.drain(key, [{ item, resolve, reject }]);
    });
  }

  private async drain(key: string, first: Waiting<I, O>[]): Promise<void> {
    let batch = first;
    while (batch.length > 0) {
      await runAndSettle(batch, this.runBatch);
      batch = (this.lines.get(key) as Waiting<I, O>[]).splice(0, this.maxBatch);
    }
    this.lines.delete(key);
  }
}

/** A function that runs `fn` in the async context of the call where it was made. */
export function contextBinder<O>(): (fn: () => Results<O>) => Results<O> {
  return AsyncResource.bind((fn: () => Results<O>) => fn());
}

/**
 * Runs one batch in the context of its first item and settles every item from what the runner
 * says of it (one may fail alone); when the runner throws, every item fails with that error.
 */
export async function runAndSettle<I, O>(
  batch: Waiting<I, O>[],
  runBatch: (items: I[]) => Results<O>,
): Promise<void> {
  const items = batch.map((waiting) => waiting.item);
  try {
    const { inContext = (fn: () => Results<O>) => fn() } = batch[0];
    const results = await inContext(() => runBatch(items));
    batch.forEach((waiting, index) => {
      const result = results[index];
      if (result.status === 'fulfilled') waiting.resolve(result.value);
      else waiting.reject(result.reason);
    });
  } catch (error) {
    for (const waiting of batch) waiting.reject(error);
  }
}
