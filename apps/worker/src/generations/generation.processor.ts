import { AppConfig } from '@app/config';
import { errorMessage } from '@app/exceptions';
import {
  GENERATIONS_QUEUE,
  GenAiProvider,
  GenerationJobData,
  GenerationStore,
} from '@app/generations';
import { getLogger, runInJobContext } from '@app/logging';
import { runJob } from '@app/queue';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { describeFailure } from './generation-failure';
import { JobOutcome, generationJobDuration, generationJobsTotal } from './generation-job.metrics';

const logger = getLogger('GenerationProcessor');

/**
 * Runs generations, WORKER_CONCURRENCY at a time: claim (`running`) → provider → `succeeded`,
 * or a failed attempt that the store turns into `failed` (final) or `queued` (Bull retries it
 * after its backoff). Final failures are discarded so Bull does not retry them. A job that
 * fails outside an attempt (stalled too often, Bull's timeout) still fails its record.
 */
@Injectable()
export class GenerationProcessor implements OnApplicationBootstrap {
  /** The attempt's one deadline: JOB_TIMEOUT_MS, or the provider's call limit when shorter. */
  private readonly attemptTimeoutMs: number;

  constructor(
    @InjectQueue(GENERATIONS_QUEUE) private readonly queue: Queue<GenerationJobData>,
    private readonly store: GenerationStore,
    private readonly provider: GenAiProvider,
    private readonly config: AppConfig,
  ) {
    this.attemptTimeoutMs = Math.min(
      config.queue.jobTimeoutMs,
      provider.callTimeoutMs ?? Number.POSITIVE_INFINITY,
    );
  }

  onApplicationBootstrap(): void {
    void this.queue.process(this.config.worker.concurrency, (job) => this.run(job));
    this.queue.on('failed', (job, error) => void this.onFailed(job, error));
  }

  /** One attempt of one generation. Idempotent: a job that runs twice leaves one record. */
  async run(job: Job<GenerationJobData>): Promise<void> {
    const id = job.data.generationId;
    const started = process.hrtime.bigint();
    const record = (outcome: JobOutcome): void => {
      const labels = { provider: this.provider.name, outcome };
      generationJobsTotal.inc(labels);
      generationJobDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    await runJob(job, async () => {
      const attempt = job.attemptsMade + 1;
      const generation = await this.store.claim(id, attempt);
      if (!generation) {
        logger.info({ generationId: id }, 'generation is finished, cancelled or gone; skipping');
        record('skipped');
        return;
      }
      try {
        const output = await this.provider.generate(
          {
            prompt: generation.prompt,
            model: generation.model,
            maxTokens: generation.maxTokens ?? undefined,
            temperature: generation.temperature ?? undefined,
          },
          AbortSignal.timeout(this.attemptTimeoutMs),
        );
        await this.store.succeed(id, output);
        record('succeeded');
        logger.info(
          { generationId: id, provider: this.provider.name, attempt },
          'generation succeeded',
        );
      } catch (error) {
        const failure = describeFailure(error, this.attemptTimeoutMs);
        const outcome = await this.store.failAttempt(id, {
          ...failure,
          attempt,
          maxAttempts: job.opts.attempts ?? 1,
        });
        if (!failure.retryable) await job.discard();
        record(outcome === 'requeued' ? 'retried' : 'failed');
        throw error;
      }
    });
  }

  /** Jobs failed outside the processor (stalled too often, Bull's timeout) still fail their record. */
  private async onFailed(job: Job<GenerationJobData>, error: Error): Promise<void> {
    await runInJobContext(job, async () => {
      const failed = await this.store.failExhausted(job.data.generationId, {
        attemptsMade: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
        message: errorMessage('running generation', error.message.slice(0, 500)),
      });
      if (failed)
        logger.warn(
          { generationId: job.data.generationId, reason: error.message },
          'generation failed outside the processor',
        );
    }).catch((failure: unknown) => logger.error({ err: failure }, 'Error recording a failed job'));
  }
}
