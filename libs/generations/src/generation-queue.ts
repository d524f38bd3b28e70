import { AppException, errorMessage } from '@app/exceptions';
import { getLogger, withLogContext } from '@app/logging';
import { GENERATIONS_QUEUE } from '@app/queue';
import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

/** How long a POST waits for Redis before answering 503. */
export const ENQUEUE_TIMEOUT_MS = 3000;

export interface GenerationJobData {
  generationId: string;
}

const logger = getLogger('GenerationQueue');

/**
 * Puts generations on the queue: the job id is the generation id (queueing twice is harmless),
 * and the producer's request id and user travel with the job for the worker's log lines.
 */
@Injectable()
export class GenerationQueue {
  constructor(@InjectQueue(GENERATIONS_QUEUE) private readonly queue: Queue<GenerationJobData>) {}

  async enqueue(generationId: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error('queue did not answer in time')),
        ENQUEUE_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([
        this.queue.add(withLogContext({ generationId }), { jobId: generationId }),
        timeout,
      ]);
    } catch (error) {
      logger.error({ err: error, generationId }, 'Error queueing generation');
      throw new AppException(
        503,
        errorMessage('queueing generation', 'the queue is unavailable; retry later'),
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  /** Best effort: a cancelled generation's waiting job is removed (the worker skips it anyway). */
  async remove(generationId: string): Promise<void> {
    const job = await this.queue.getJob(generationId).catch(() => null);
    await job?.remove().catch(() => undefined);
  }
}
