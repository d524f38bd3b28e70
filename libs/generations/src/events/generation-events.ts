import { getLogger } from '@app/logging';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { untraced } from '@app/tracing';
import { Inject, Injectable } from '@nestjs/common';
import type { Generation, GenerationStatus } from '../generation.entity';

/** What a client's event stream shows (SPEC §14). */
export type GenerationEventType = 'status' | 'delta' | 'done';

/** One stored event: its id (its position in the generation's log, from 1), type and JSON. */
export interface StoredEvent {
  id: string;
  type: GenerationEventType;
  data: string;
}

/** A `status` event's data: the record's state, never its prompt or result. */
export type StatusData = Pick<Generation, 'id' | 'status' | 'attempts'> & {
  startedAt: Date | null;
  completedAt: Date | null;
};

/** Events of a generation are kept this long after its last one (it ends with `done`). */
export const EVENT_LOG_TTL_MS = 10 * 60 * 1000;
/** At most this many events per generation; later ones are dropped, except `done`. */
export const EVENT_LOG_MAX_EVENTS = 1000;

const logger = getLogger('GenerationEvents');
const OUTAGE_LOG_INTERVAL_MS = 10_000;

/**
 * Appends the event (`<type>\n<data>`) to the generation's list, keeps the list for
 * EVENT_LOG_TTL_MS after it, and publishes it to the generation's channel (the key's name) as
 * `<id>\n<type>\n<data>`, its id being its position: one round trip, in order. A list, not a
 * Redis stream: a stream preallocates a node of `stream-node-max-bytes` (4 KB) for its first
 * entry, a short list takes ~0.5 KB — at the job rates of SPEC §16 that is the difference
 * between 1.7 GB and 0.2 GB of events kept for ten minutes.
 */
const APPEND_SCRIPT = `
if ARGV[1] ~= 'done' and redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
local id = redis.call('RPUSH', KEYS[1], ARGV[1] .. '\\n' .. ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', KEYS[1], id .. '\\n' .. ARGV[1] .. '\\n' .. ARGV[2])
return id`;

type AppendCommand = (key: string, ...args: Array<string | number>) => Promise<number>;

/** The channel (and stream key) of a generation's events; one hash tag per generation. */
export function eventChannelOf(generationId: string): string {
  return `gen:events:{${generationId}}`;
}

/** A message of a generation's channel back to its event. */
export function parseEventMessage(message: string): StoredEvent | undefined {
  const first = message.indexOf('\n');
  const second = message.indexOf('\n', first + 1);
  if (first < 0 || second < 0) return undefined;
  const type = message.slice(first + 1, second);
  if (type !== 'status' && type !== 'delta' && type !== 'done') return undefined;
  return { id: message.slice(0, first), type, data: message.slice(second + 1) };
}

/** Whether event id `a` comes after `b` (positions in the log, as decimal strings). */
export function isAfter(a: string, b: string): boolean {
  return Number(a) > Number(b);
}

/**
 * Each generation's event log (SPEC §14): a Redis list per generation, written by whoever
 * makes a transition — the worker (running, deltas, retries, ends), the api (a cancel) — and
 * published as it is written, so that any api replica can serve any stream. Writing is best
 * effort: an event Redis does not take is logged (at most every 10 s) and the generation goes
 * on; a stream that misses its `done` finds the record finished on its next heartbeat.
 */
@Injectable()
export class GenerationEvents {
  private readonly append: AppendCommand;
  private lastOutageLog = 0;

  constructor(@Inject(REDIS_CLIENT) private readonly redis: RedisClient) {
    redis.defineCommand('genEventAppend', { numberOfKeys: 1, lua: APPEND_SCRIPT });
    const commands = redis as unknown as { genEventAppend: AppendCommand };
    this.append = (key, ...args) => untraced(() => commands.genEventAppend(key, ...args));
  }

  /** The record's state changed: queued (again), running. */
  status(state: StatusData): Promise<void> {
    return this.write(state.id, 'status', {
      id: state.id,
      status: state.status,
      attempts: state.attempts,
      startedAt: state.startedAt?.toISOString() ?? null,
      completedAt: state.completedAt?.toISOString() ?? null,
    });
  }

  /** Text of attempt `attempt`, its `index`-th chunk (from 0). */
  delta(generationId: string, attempt: number, index: number, text: string): Promise<void> {
    return this.write(generationId, 'delta', { attempt, index, text });
  }

  /** The generation ended (succeeded, failed, cancelled): the stream sends the record and ends. */
  done(generationId: string, status: GenerationStatus): Promise<void> {
    return this.write(generationId, 'done', { status });
  }

  /** The stored events after `after` (an event id; `0` for all), oldest first. */
  async after(generationId: string, after: string): Promise<StoredEvent[]> {
    const start = Math.max(0, Math.floor(Number(after)));
    const entries = await this.redis.lrange(eventChannelOf(generationId), start, -1);
    return entries.flatMap((entry, offset) => {
      const event = parseEventMessage(`${start + offset + 1}\n${entry}`);
      return event ? [event] : [];
    });
  }

  /** The id of the generation's last stored event; undefined when it has none (or they expired). */
  async lastId(generationId: string): Promise<string | undefined> {
    const length = await this.redis.llen(eventChannelOf(generationId));
    return length > 0 ? String(length) : undefined;
  }

  private async write(
    generationId: string,
    type: GenerationEventType,
    data: object,
  ): Promise<void> {
    try {
      await this.append(
        eventChannelOf(generationId),
        type,
        JSON.stringify(data),
        EVENT_LOG_MAX_EVENTS,
        EVENT_LOG_TTL_MS,
      );
    } catch (error) {
      const now = Date.now();
      if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
      this.lastOutageLog = now;
      logger.warn({ err: error, generationId, type }, 'generation event not stored (Redis)');
    }
  }
}
