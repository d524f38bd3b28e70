import { Results, Waiting, contextBinder, runAndSettle } from './keyed-batches';

/**
 * Work gathered per turn of the event loop: the items of one key submitted during a turn run
 * together, up to `maxBatch` per call, when the turn ends (`setImmediate`) — without waiting for
 * that key's previous call to return. For a store that orders calls itself: Redis runs each
 * script whole, in the order one connection sends them, so calls in flight together still count
 * exactly as one after another would. A lone item waits for the rest of the turn, no longer.
 * Each call runs in the async context of its first item; the runner settles each item (one may
 * fail alone), and when it throws, every item of that call fails with its error.
 *
 * `KeyedBatches` is the other shape, for a store that must see a key's calls one at a time (a
 * quota checked and spent in one statement): it holds a key's items while its call runs. Under
 * load both make one call of many items; this one keeps a key's calls flowing instead of
 * queueing them behind a round trip (measured on the per-key limits: less api CPU per request
 * for the same number of script calls).
 */
export class TurnBatches<I, O> {
  private pending = new Map<string, Waiting<I, O>[]>();
  private scheduled = false;

  constructor(
    private readonly runBatch: (items: I[]) => Results<O>,
    private readonly maxBatch: number,
  ) {}

  submit(key: string, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let line = this.pending.get(key);
      if (!line) {
        line = [];
        this.pending.set(key, line);
      }
      // a call is cut every `maxBatch` items: its first one lends it its context
      const first = line.length % this.maxBatch === 0;
      line.push({ item, resolve, reject, inContext: first ? contextBinder<O>() : undefined });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const lines = this.pending;
    this.pending = new Map();
    for (const line of lines.values())
      for (let at = 0; at < line.length; at += this.maxBatch)
        void runAndSettle(line.slice(at, at + this.maxBatch), this.runBatch);
  };
}
