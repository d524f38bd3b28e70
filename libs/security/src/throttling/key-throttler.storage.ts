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
const logger = getLogger('KeyThrottler');

/**
 * The per-key layer's counts, shared by every api replica through Redis: one script (sent by
 * its SHA, loaded once) evaluates all of a request's policies in one round trip, exact under
 * concurrency. A tracker's counters share one hash tag (`rl:key:{<key id>}:<policy>`), so the
 * script stays on one node of a Cluster. When Redis cannot answer (the command connection
 * fails fast: no offline queue, a command timeout), the process counts in memory: never a
 * 500, never a hang, never no limit.
 */
@Injectable()
export class KeyThrottlerStorage implements ThrottlerStorage {
  private readonly memory = new MemoryWindows();
  private readonly command: ThrottleCommand;
  private lastOutageLog = 0;

  constructor(@Inject(REDIS_CLIENT) redis: RedisClient) {
    redis.defineCommand('rlThrottle', { lua: THROTTLE_SCRIPT });
    const commands = redis as unknown as { rlThrottle: ThrottleCommand };
    this.command = (...args) => untraced(() => commands.rlThrottle(...args));
  }

  /** Counts one request of `tracker` against every policy in `windows`, all or nothing. */
  async consume(tracker: string, windows: PolicyWindow[]): Promise<ThrottleOutcome> {
    const keys = windows.map((window) => `${KEY_PREFIX}:key:{${tracker}}:${window.name}`);
    try {
      const reply = await this.command(
        keys.length,
        ...keys,
        ...windows.flatMap((window) => [window.limit, window.ttlMs]),
      );
      return outcomeOf(windows, reply);
    } catch (error) {
      this.logOutage(error);
      return this.memory.consume(keys, windows);
    }
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
