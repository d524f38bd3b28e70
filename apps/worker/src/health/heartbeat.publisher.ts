import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { WORKER_HEARTBEAT_PREFIX, WorkerHeartbeat } from '@app/health';
import { QueueRegistry, activeJobCount } from '@app/queue';
import { REDIS_CLIENT } from '@app/redis';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import Redis from 'ioredis';
import { hostname } from 'node:os';

const logger = getLogger('WorkerHeartbeat');

/**
 * Every WORKER_HEARTBEAT_SECONDS the worker writes who it is and how busy under a key that
 * expires after three periods: a worker that stops beating drops out of the api's report by
 * itself. The key is removed on shutdown.
 */
@Injectable()
export class HeartbeatPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly id = `${hostname()}-${process.pid}`;
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  private get key(): string {
    return `${WORKER_HEARTBEAT_PREFIX}${this.id}`;
  }

  onApplicationBootstrap(): void {
    const periodMs = this.config.worker.heartbeatSeconds * 1000;
    void this.beat(periodMs);
    this.timer = setInterval(() => void this.beat(periodMs), periodMs);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(this.key).catch(() => undefined);
  }

  private async beat(periodMs: number): Promise<void> {
    const heartbeat: WorkerHeartbeat = {
      id: this.id,
      host: hostname(),
      pid: process.pid,
      concurrency: this.config.worker.concurrency,
      activeJobs: activeJobCount(),
      queues: this.queues.names(),
      startedAt: this.startedAt,
      lastHeartbeat: new Date().toISOString(),
    };
    try {
      await this.redis.set(this.key, JSON.stringify(heartbeat), 'PX', periodMs * 3);
    } catch (error) {
      // Redis outages are reported by the connection itself; a missed beat is expected then.
      logger.debug({ err: error }, 'Error writing heartbeat');
    }
  }
}
