import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { untraced } from '@app/tracing';
import { Inject, Injectable } from '@nestjs/common';

/** A slot is held this long unless its stream renews it (every heartbeat). */
export const SLOT_LEASE_MS = 45_000;

const logger = getLogger('StreamSlots');

/**
 * Takes a slot if the key holds fewer than the cap: expired leases (a replica that died with
 * streams open) are dropped first, so a crash never keeps slots longer than one lease.
 */
const ACQUIRE_SCRIPT = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

type AcquireCommand = (key: string, ...args: Array<string | number>) => Promise<number>;

/**
 * The open event streams of each key, counted across replicas (GENERATIONS_MAX_STREAMS): a
 * sorted set per key (`gen:streams:{<keyId>}`), one member per stream, scored by when its lease
 * ends. With Redis away a stream is allowed (and logged): it could not be counted, and a stream
 * that cannot be served ends by itself.
 */
@Injectable()
export class StreamSlots {
  private readonly acquireCommand: AcquireCommand;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {
    redis.defineCommand('genStreamAcquire', { numberOfKeys: 1, lua: ACQUIRE_SCRIPT });
    const commands = redis as unknown as { genStreamAcquire: AcquireCommand };
    this.acquireCommand = (key, ...args) => untraced(() => commands.genStreamAcquire(key, ...args));
  }

  get cap(): number {
    return this.config.streams.maxPerKey;
  }

  async acquire(keyId: string, stream: string): Promise<boolean> {
    const now = Date.now();
    try {
      const taken = await this.acquireCommand(
        keyOf(keyId),
        now,
        now + SLOT_LEASE_MS,
        stream,
        this.cap,
        SLOT_LEASE_MS,
      );
      return taken === 1;
    } catch (error) {
      logger.warn({ err: error }, 'event stream not counted: Redis unavailable');
      return true;
    }
  }

  /** Extends the stream's lease (each heartbeat). */
  async renew(keyId: string, stream: string): Promise<void> {
    await untraced(() =>
      this.redis.zadd(keyOf(keyId), 'XX', Date.now() + SLOT_LEASE_MS, stream),
    ).catch(() => undefined);
  }

  async release(keyId: string, stream: string): Promise<void> {
    await untraced(() => this.redis.zrem(keyOf(keyId), stream)).catch(() => undefined);
  }
}

function keyOf(keyId: string): string {
  return `gen:streams:{${keyId}}`;
}
