import { AppConfig } from '@app/config';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { withTimeout } from '@app/lifecycle';
import { reasonOf } from '../report/health-body';
import { WORKER_HEARTBEATS_KEY, WorkerHeartbeat } from '../workers/worker-heartbeat';

function parse(value: string): WorkerHeartbeat | undefined {
  try {
    return JSON.parse(value) as WorkerHeartbeat;
  } catch {
    return undefined;
  }
}

/**
 * The workers online, from their heartbeats in Redis (the per-worker view Flower gave): one
 * HGETALL. A worker that missed three beats is offline; none online is `down`.
 */
@Injectable()
export class WorkersHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {}

  async online(): Promise<WorkerHeartbeat[]> {
    const fields = await this.redis.hgetall(WORKER_HEARTBEATS_KEY);
    const now = Date.now();
    const online: WorkerHeartbeat[] = [];
    const expired: string[] = [];
    for (const [id, value] of Object.entries(fields)) {
      const heartbeat = parse(value);
      if (heartbeat && heartbeat.expiresAt > now) online.push(heartbeat);
      else expired.push(id);
    }
    // a worker that died without saying goodbye leaves its field behind: tidy it up
    if (expired.length > 0)
      this.redis.hdel(WORKER_HEARTBEATS_KEY, ...expired).catch(() => undefined);
    return online.sort((a, b) => a.id.localeCompare(b.id));
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
