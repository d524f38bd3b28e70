import { getLogger } from '@app/logging';
import { GenerationEvents } from './generation-events';

/** A provider's chunks within this long of each other become one `delta` event. */
const FLUSH_MS = 50;
/** Text stored as deltas per attempt at most; the rest reaches the client in `done` only. */
export const MAX_DELTA_BYTES = 256 * 1024;

const logger = getLogger('GenerationEvents');

/**
 * The `delta` events of one attempt: a provider's chunks (a token each, for some servers)
 * coalesced to at most one event per 50 ms, numbered from 0, and capped at MAX_DELTA_BYTES.
 * Each is sent as soon as it is cut, without waiting for the one before: the commands of one
 * Redis connection run in the order they were sent, so the log keeps the order of the calls
 * (the attempt's `running` status, its deltas, then its end) at no round trip to the job.
 */
export class DeltaWriter {
  private pending = '';
  private index = 0;
  private bytes = 0;
  private timer?: NodeJS.Timeout;
  private capped = false;

  constructor(
    private readonly events: GenerationEvents,
    private readonly generationId: string,
    private readonly attempt: number,
  ) {}

  /** A provider's `onDelta`. */
  readonly push = (text: string): void => {
    if (this.capped || text === '') return;
    this.pending += text;
    this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
  };

  /** Sends what is pending: the text is complete. */
  end(): void {
    this.flush();
  }

  /** Drops what is pending (the attempt failed or was stopped). */
  discard(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pending = '';
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '') return;
    const text = this.pending;
    this.pending = '';
    this.bytes += Buffer.byteLength(text);
    if (this.bytes > MAX_DELTA_BYTES) {
      this.capped = true;
      logger.warn(
        { generationId: this.generationId, attempt: this.attempt, maxBytes: MAX_DELTA_BYTES },
        'generation text beyond the event log cap; the stream gets the rest with done',
      );
      return;
    }
    void this.events.delta(this.generationId, this.attempt, this.index++, text);
  }
}
