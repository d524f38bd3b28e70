import { AppConfig } from '@app/config';
import { AppException, errorMessage } from '@app/exceptions';
import { withTimeout } from '@app/lifecycle';
import { getLogger, withLogContext } from '@app/logging';
import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { JobOptions, Queue } from 'bull';

/** The queue generations travel through, from the api to the worker. */
export const GENERATIONS_QUEUE = 'generations';
/** The daily deletion of finished generations past GENERATION_RETENTION_DAYS. */
export const GENERATION_RETENTION_QUEUE = 'generations-retention';

/** How long a producer waits for Redis before answering 503. */
export const ENQUEUE_TIMEOUT_MS = 3000;
/** Bull's own timeout sits this far past JOB_TIMEOUT_MS (see `jobOptions`). */
const BULL_TIMEOUT_MARGIN_MS = 5000;

export interface GenerationJobData {
  generationId: string;
  /** The generation has a completion webhook: its final transition queues the delivery. */
  callback?: true;
}

const logger = getLogger('GenerationQueue');

/**
 * The one producer of generation jobs, for the api and the worker's reconciler alike: the job
 * id is the generation id (queueing twice is harmless), the retry policy is QUEUE_ATTEMPTS with
 * exponential backoff, the wait for Redis is bounded, and the producer's request id and user
 * travel with the job for the worker's log lines.
 */
@Injectable()
export class GenerationQueue {
  private readonly jobOptions: JobOptions;

  constructor(
    @InjectQueue(GENERATIONS_QUEUE) private readonly queue: Queue<GenerationJobData>,
    config: AppConfig,
  ) {
    this.jobOptions = {
      attempts: config.queue.attempts,
      backoff: { type: 'exponential', delay: config.queue.backoffMs },
      // The attempt's own deadline is JOB_TIMEOUT_MS; Bull's timeout is only the outer net that
      // frees the worker's slot if something other than the provider (a hung query) never returns.
      timeout: config.queue.jobTimeoutMs + BULL_TIMEOUT_MARGIN_MS,
    };
  }

  /** Queues a generation; an AppException 503 when Redis does not take it in time. */
  async enqueue(generationId: string, { callback = false } = {}): Promise<void> {
    const data: GenerationJobData = callback ? { generationId, callback } : { generationId };
    try {
      await withTimeout(
        this.queue.add(withLogContext(data), {
          ...this.jobOptions,
          jobId: generationId,
        }),
        ENQUEUE_TIMEOUT_MS,
        'the queue',
      );
    } catch (error) {
      logger.error({ err: error, generationId }, 'Error queueing generation');
      throw new AppException(
        503,
        errorMessage('queueing generation', 'the queue is unavailable; retry later'),
        { cause: error },
      );
    }
  }

  /** Whether the generation has a job in Redis, in any state; a 503 when Redis cannot tell. */
  async hasJob(generationId: string): Promise<boolean> {
    try {
      return (
        (await withTimeout(this.queue.getJob(generationId), ENQUEUE_TIMEOUT_MS, 'the queue')) !==
        null
      );
    } catch (error) {
      throw new AppException(
        503,
        errorMessage('reading generation', 'the queue is unavailable; retry later'),
        { cause: error },
      );
    }
  }

  /** Best effort: a cancelled generation's waiting job is removed (the worker skips it anyway). */
  async remove(generationId: string): Promise<void> {
    const job = await this.queue.getJob(generationId).catch(() => null);
    await job?.remove().catch(() => undefined);
  }
}
