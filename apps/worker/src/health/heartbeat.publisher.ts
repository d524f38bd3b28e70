import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { WORKER_HEARTBEATS_KEY, WorkerHeartbeat } from '@app/health';
import { QueueRegistry, activeJobCount } from '@app/queue';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { hostname } from 'node:os';

const logger = getLogger('WorkerHeartbeat');

/**
 * Every WORKER_HEARTBEAT_SECONDS the worker writes who it is and how busy into the heartbeat
 * hash, with the time after which it counts as offline (three periods): a worker that stops
 * beating drops out of the api's report by itself. Its field is removed on shutdown.
 */
@Injectable()
export class HeartbeatPublisher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly id = `${hostname()}-${process.pid}`;
  private readonly startedAt = new Date().toISOString();
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly queues: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    const periodMs = this.config.worker.heartbeatSeconds * 1000;
    void this.beat(periodMs);
    // at once on every (re)connection too: the first beat may come before the connection is
    // up, and a failed-over Redis may have lost the hash
    this.redis.on('ready', this.onReady);
    this.timer = setInterval(() => void this.beat(periodMs), periodMs);
    this.timer.unref();
  }

  private readonly onReady = (): void => void this.beat(this.config.worker.heartbeatSeconds * 1000);

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    this.redis.off('ready', this.onReady);
    await this.redis.hdel(WORKER_HEARTBEATS_KEY, this.id).catch(() => undefined);
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
      expiresAt: Date.now() + periodMs * 3,
    };
    try {
      await this.redis.hset(WORKER_HEARTBEATS_KEY, this.id, JSON.stringify(heartbeat));
      // the hash outlives no worker: when they all stop beating it expires too
      await this.redis.pexpire(WORKER_HEARTBEATS_KEY, periodMs * 3);
    } catch (error) {
      // Redis outages are reported by the connection itself; a missed beat is expected then.
      logger.debug({ err: error }, 'Error writing heartbeat');
    }
  }
}
