import { AppConfig } from '@app/config';
import { GENERATIONS_QUEUE } from '@app/queue';
import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Queue } from 'bull';
import { reasonOf, withTimeout } from '../utils/with-timeout';

/** One queue's job counts and paused state; down when Redis cannot tell. */
export abstract class QueueHealthIndicator {
  protected abstract readonly name: string;

  constructor(
    private readonly health: HealthIndicatorService,
    private readonly queue: Queue,
    private readonly config: AppConfig,
  ) {}

  async check(): Promise<HealthIndicatorResult> {
    const check = this.health.check(`queue:${this.name}`);
    try {
      const [counts, paused] = await withTimeout(
        Promise.all([this.queue.getJobCounts(), this.queue.isPaused()]),
        this.config.health.checkTimeoutMs,
        `queue ${this.name}`,
      );
      return check.up({ ...counts, paused });
    } catch (error) {
      return check.down({ message: reasonOf(error) });
    }
  }
}

@Injectable()
export class GenerationsQueueHealthIndicator extends QueueHealthIndicator {
  protected readonly name = GENERATIONS_QUEUE;

  constructor(
    health: HealthIndicatorService,
    @InjectQueue(GENERATIONS_QUEUE) queue: Queue,
    config: AppConfig,
  ) {
    super(health, queue, config);
  }
}
