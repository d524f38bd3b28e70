import { AppConfig } from '@app/config';
import { REDIS_CLIENT } from '@app/redis';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import Redis from 'ioredis';
import { withTimeout } from '@app/lifecycle';
import { reasonOf } from '../report/health-body';
import { WORKER_HEARTBEAT_PREFIX, WorkerHeartbeat } from '../workers/worker-heartbeat';

/**
 * The workers online, from their heartbeats in Redis (the per-worker view Flower gave). A
 * worker that missed three beats has expired from Redis; none online is `down`.
 */
@Injectable()
export class WorkersHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  async online(): Promise<WorkerHeartbeat[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(
        cursor,
        'MATCH',
        `${WORKER_HEARTBEAT_PREFIX}*`,
        'COUNT',
        100,
      );
      cursor = next;
      keys.push(...found);
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.redis.mget(keys);
    return values
      .filter((value): value is string => value !== null)
      .map((value) => JSON.parse(value) as WorkerHeartbeat)
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async check(key = 'workers'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    try {
      const workers = await withTimeout(
        this.online(),
        this.config.health.checkTimeoutMs,
        'worker heartbeats',
      );
      return workers.length > 0
        ? check.up({ online: workers.length, workers })
        : check.down({ online: 0, workers: [], message: 'no worker is online' });
    } catch (error) {
      return check.down({ message: reasonOf(error) });
    }
  }
}
