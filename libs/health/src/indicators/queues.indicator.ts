import { AppConfig } from '@app/config';
import { withTimeout } from '@app/lifecycle';
import { QueueRegistry } from '@app/queue';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import type { Queue } from 'bull';
import { reasonOf } from '../report/health-body';

/**
 * Every registered queue's job counts and paused state, as `queue:<name>`; a queue is down when
 * Redis cannot tell within the check timeout. Features register their queues with the
 * `QueueRegistry`; this indicator names none.
 */
@Injectable()
export class QueuesHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly registry: QueueRegistry,
    private readonly config: AppConfig,
  ) {}

  async check(): Promise<HealthIndicatorResult> {
    const results = await Promise.all(this.registry.all().map((queue) => this.checkOne(queue)));
    return Object.assign({}, ...results) as HealthIndicatorResult;
  }

  private async checkOne(queue: Queue): Promise<HealthIndicatorResult> {
    const check = this.health.check(`queue:${queue.name}`);
    try {
      const [counts, paused] = await withTimeout(
        Promise.all([queue.getJobCounts(), queue.isPaused()]),
        this.config.health.checkTimeoutMs,
        `queue ${queue.name}`,
      );
      return check.up({ ...counts, paused });
    } catch (error) {
      return check.down({ message: reasonOf(error) });
    }
  }
}
