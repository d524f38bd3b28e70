import { TurnBatches } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { untraced } from '@app/tracing';
import { Inject, Injectable } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { KEY_PREFIX } from '../rate-limit/ban-list';
import {
  MemoryWindows,
  PolicyWindow,
  THROTTLE_SCRIPT,
  ThrottleOutcome,
  outcomeOf,
} from './window-counters';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;
type ThrottleCommand = (...args: Array<string | number>) => Promise<number[]>;

const OUTAGE_LOG_INTERVAL_MS = 10_000;
/** Requests of one tracker counted by one script call at most. */
const CONSUME_BATCH_MAX = 64;

interface Consume {
  keys: string[];
  windows: PolicyWindow[];
}
const logger = getLogger('KeyThrottler');

/**
 * The Redis counter of a tracker's policy: a tracker's counters share one hash tag, so a script
 * over several of them stays on one node of a Cluster.
 */
export function policyCounter(tracker: string, policy: string): string {
  return `${KEY_PREFIX}:key:{${tracker}}:${policy}`;
}

/**
 * The per-key layer's counts, shared by every api replica through Redis: one script (sent by
 * its SHA, loaded once) evaluates all of a request's policies in one round trip, exact under
 * concurrency. A key's requests of one turn of the event loop are counted by one call together, in
 * arrival order, exactly as one call each would count them (`TurnBatches`: a lone request waits
 * for the end of its turn, never for a round trip; Redis runs the calls whole in the order the
 * connection sends them, so a key's calls in flight together stay exact; a client hammering with
 * one key costs one round trip per batch, not per request); see `policyCounter` for where the
 * counters live. An authenticated read's `key` count usually rides on the per-IP layer's call
 * instead (`KeyCountedRoutes`), on the same counters. When Redis cannot answer (the command connection
 * fails fast: no offline queue, a command timeout), the process counts in memory: never a
 * 500, never a hang, never no limit.
 */
@Injectable()
export class KeyThrottlerStorage implements ThrottlerStorage {
  private readonly memory = new MemoryWindows();
  private readonly batches = new TurnBatches<Consume, ThrottleOutcome>(
    (requests) => this.consumeAll(requests),
    CONSUME_BATCH_MAX,
  );
  private readonly command: ThrottleCommand;
  private lastOutageLog = 0;

  constructor(@Inject(REDIS_CLIENT) redis: RedisClient) {
    redis.defineCommand('rlThrottle', { lua: THROTTLE_SCRIPT });
    const commands = redis as unknown as { rlThrottle: ThrottleCommand };
    this.command = (...args) => untraced(() => commands.rlThrottle(...args));
  }

  /** Counts one request of `tracker` against every policy in `windows`, all or nothing. */
  consume(tracker: string, windows: PolicyWindow[]): Promise<ThrottleOutcome> {
    const keys = windows.map((window) => policyCounter(tracker, window.name));
    // requests count together only toward the same policies with the same limits and windows
    const batch = `${keys.join(' ')} ${windows.map((w) => `${w.limit}/${w.ttlMs}`).join(' ')}`;
    return this.batches.submit(batch, { keys, windows });
  }

  /** One script call for requests of one tracker and policy set, in arrival order. */
  private async consumeAll(requests: Consume[]): Promise<PromiseSettledResult<ThrottleOutcome>[]> {
    const { keys, windows } = requests[0];
    let outcomes: ThrottleOutcome[];
    try {
      const reply = await this.command(
        keys.length,
        ...keys,
        ...windows.flatMap((window) => [window.limit, window.ttlMs]),
        requests.length,
      );
      outcomes = requests.map((_, index) => outcomeOf(windows, reply, index));
    } catch (error) {
      this.logOutage(error);
      outcomes = requests.map(() => this.memory.consume(keys, windows));
    }
    return outcomes.map((value) => ({ status: 'fulfilled', value }));
  }

  /** @nestjs/throttler's one-policy interface, on the same counters. */
  async increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const { counts, refusedBy } = await this.consume(key, [
      { name: throttlerName, limit, ttlMs: ttl },
    ]);
    const [count] = counts;
    const seconds = Math.ceil(count.resetMs / 1000);
    return {
      totalHits: refusedBy ? count.hits + 1 : count.hits,
      timeToExpire: seconds,
      isBlocked: refusedBy !== undefined,
      timeToBlockExpire: refusedBy ? seconds : 0,
    };
  }

  private logOutage(error: unknown): void {
    const now = Date.now();
    if (now - this.lastOutageLog < OUTAGE_LOG_INTERVAL_MS) return;
    this.lastOutageLog = now;
    logger.warn(
      { reason: error instanceof Error ? error.message : String(error) },
      'per-key limits fall back to memory while Redis is unavailable',
    );
  }
}
