import { AppConfig } from '@app/config';
import { isDependencyUnavailable } from '@app/exceptions';
import { GENERATION_RETENTION_QUEUE, GenerationStore } from '@app/generations';
import { getLogger } from '@app/logging';
import { processQueue, runJob } from '@app/queue';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Queue } from 'bull';

/** Once a day, at a quiet hour (UTC): one repeatable job for every worker replica. */
const RETENTION_CRON = '17 3 * * *';
const RETENTION_JOB_ID = 'delete-expired-generations';
const DAY_MS = 86_400_000;

const logger = getLogger('GenerationRetention');

/**
 * Deletes finished generations older than GENERATION_RETENTION_DAYS (0 keeps them), in
 * batches, as a daily repeatable job on its own queue: every replica schedules the same job
 * id, Bull runs it once, Bull Board shows its runs, and a failed run is logged with its stack.
 */
@Injectable()
export class GenerationRetention implements OnApplicationBootstrap {
  constructor(
    @InjectQueue(GENERATION_RETENTION_QUEUE) private readonly queue: Queue,
    private readonly store: GenerationStore,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    processQueue(this.queue, 1, (job) => runJob(job, () => this.deleteExpired()));
  }

  /** Returns how many generations it deleted. */
  async deleteExpired(): Promise<number> {
    const days = this.config.generations.retentionDays;
    if (days === 0) return 0;
    const deleted = await this.store.deleteFinishedBefore(new Date(Date.now() - days * DAY_MS));
    logger.info({ deleted, retentionDays: days }, 'deleted expired generations');
    return deleted;
  }

  /**
   * Makes sure the daily job is scheduled (the same job id every time, so this is idempotent);
   * the reconciler calls it on every pass, so a worker that started while Redis was away
   * schedules it once Redis is back.
   */
  async schedule(): Promise<void> {
    try {
      await this.queue.add(
        {},
        {
          repeat: { cron: RETENTION_CRON },
          jobId: RETENTION_JOB_ID,
          removeOnComplete: 10,
          removeOnFail: 10,
        },
      );
    } catch (error) {
      // Redis away is reported by the connection itself: one line, never a stack
      if (isDependencyUnavailable(error))
        logger.warn(
          { reason: (error as Error).message },
          'Error scheduling the retention job; will retry',
        );
      else logger.warn({ err: error }, 'Error scheduling the retention job; will retry');
    }
  }
}
