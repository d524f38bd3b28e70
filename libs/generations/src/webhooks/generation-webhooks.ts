import { AppConfig } from '@app/config';
import { withTimeout } from '@app/lifecycle';
import { getLogger, withLogContext } from '@app/logging';
import { bullWillRun } from '@app/queue';
import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';
import { ENQUEUE_TIMEOUT_MS } from '../generation-queue';

/** The queue completion webhooks are delivered from, one job per finished generation. */
export const WEBHOOKS_QUEUE = 'webhooks';
/** The backoff strategy of webhook jobs; the worker registers it (Retry-After, exponential). */
export const WEBHOOK_BACKOFF = 'webhook';

export interface WebhookJobData {
  generationId: string;
}

const logger = getLogger('GenerationWebhooks');

/**
 * The one producer of webhook deliveries. The delivery's state is the generation's (the
 * outbox is PostgreSQL: a finished generation whose callback is `pending`), so queueing is
 * best effort — what Redis does not take, or loses, the reconciler queues again. The job id is
 * the generation id: one delivery per generation, its attempts Bull's retries of that job.
 */
@Injectable()
export class GenerationWebhooks {
  private readonly attempts: number;

  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    config: AppConfig,
  ) {
    this.attempts = config.webhooks.attempts;
  }

  /** Queues the delivery of a finished generation's webhook, `attemptsMade` of it done. */
  async enqueue(generationId: string, attemptsMade = 0): Promise<void> {
    await withTimeout(
      this.queue.add(withLogContext({ generationId }), {
        jobId: generationId,
        attempts: Math.max(1, this.attempts - attemptsMade),
        backoff: { type: WEBHOOK_BACKOFF },
      }),
      ENQUEUE_TIMEOUT_MS,
      'the webhooks queue',
    );
  }

  /** After a final transition: queued without waiting; a failure is the reconciler's to repair. */
  notify(generationId: string): void {
    this.enqueue(generationId).catch((error: unknown) =>
      logger.warn(
        { generationId, reason: (error as Error).message },
        'could not queue the webhook delivery; the reconciler will',
      ),
    );
  }

  /**
   * The reconciler's repair: queues the delivery again unless Bull still holds a job of it that
   * it will run (a finished or failed one is removed first, so that its id is free). True when
   * it queued one.
   */
  async requeue(generationId: string, attemptsMade: number): Promise<boolean> {
    const job = await this.queue.getJob(generationId);
    if (job) {
      if (bullWillRun(await job.getState())) return false;
      await job.remove();
    }
    await this.enqueue(generationId, attemptsMade);
    return true;
  }
}
