import { AppConfig } from '@app/config';
import { errorMessage } from '@app/exceptions';
import { getLogger, runInJobContext } from '@app/logging';
import { GENERATIONS_QUEUE, runJob } from '@app/queue';
import { generationJobDuration, generationJobsTotal } from '@app/metrics';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Job, Queue } from 'bull';
import { In, LessThan, Repository } from 'typeorm';
import { FINISHED_STATUSES, Generation } from '../generation.entity';
import { GenerationJobData } from '../generation-queue';
import {
  FinalProviderError,
  GenAiProvider,
  RetryableProviderError,
} from '../providers/genai-provider';

export const RETENTION_JOB = 'retention';
/** How often queued/running records are checked against the queue. */
export const RECONCILE_INTERVAL_MS = 30_000;
interface ClaimedRow {
  prompt: string;
  model: string;
  max_tokens: number | null;
  temperature: number | null;
}

/** How one attempt ended, as `generation_jobs_total` counts it. */
type JobOutcome = 'succeeded' | 'retried' | 'failed' | 'skipped';

const logger = getLogger('GenerationWorker');

/**
 * Runs generations: `running` → provider → `succeeded` or `failed`, with usage and timestamps.
 * Retryable failures go back to `queued` for Bull's next attempt (exponential backoff); final
 * ones fail at once and are discarded. The record and its job never drift apart: a job failed
 * outside the processor still fails its record, and a reconciler re-queues records whose job is
 * gone. A daily job deletes finished generations past GENERATION_RETENTION_DAYS.
 */
@Injectable()
export class GenerationWorker implements OnApplicationBootstrap {
  private reconcileTimer?: NodeJS.Timeout;

  constructor(
    @InjectQueue(GENERATIONS_QUEUE) private readonly queue: Queue<GenerationJobData>,
    @InjectRepository(Generation) private readonly generations: Repository<Generation>,
    private readonly provider: GenAiProvider,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    void this.queue.process(this.config.worker.concurrency, (job) => this.run(job));
    void this.queue.process(RETENTION_JOB, 1, () => this.deleteExpired());
    this.queue.on('failed', (job, error) => void this.onFailed(job, error));
    void this.scheduleRetention();
    this.reconcileTimer = setInterval(() => void this.reconcile(), RECONCILE_INTERVAL_MS);
    this.reconcileTimer.unref();
    void this.reconcile();
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
      // Raw SQL on the per-job path: the query builder cost more CPU than the queries themselves
      const [claimed] = (await this.generations.query(
        `UPDATE generations
            SET status = 'running', attempts = $2, error = NULL,
                started_at = COALESCE(started_at, now())
          WHERE id = $1 AND status IN ('queued', 'running')
      RETURNING prompt, model, max_tokens, temperature`,
        [id, attempt],
      )) as [ClaimedRow[], number];
      const generation = claimed[0];
      if (!generation) {
        logger.info({ generationId: id }, 'generation is finished, cancelled or gone; skipping');
        record('skipped');
        return;
      }
      const maxAttempts = job.opts.attempts ?? 1;
      try {
        const output = await this.provider.generate(
          {
            prompt: generation.prompt,
            model: generation.model,
            maxTokens: generation.max_tokens ?? undefined,
            temperature: generation.temperature ?? undefined,
          },
          AbortSignal.timeout(this.config.queue.jobTimeoutMs),
        );
        await this.generations.query(
          `UPDATE generations
              SET status = 'succeeded', result = $2, prompt_tokens = $3, completion_tokens = $4,
                  completed_at = now()
            WHERE id = $1 AND status = 'running'`,
          [id, output.text, output.promptTokens, output.completionTokens],
        );
        record('succeeded');
        logger.info(
          { generationId: id, provider: this.provider.name, attempt },
          'generation succeeded',
        );
      } catch (error) {
        const failure = this.describe(error);
        const final = !failure.retryable || attempt >= maxAttempts;
        await this.generations.update(
          { id, status: 'running' },
          final
            ? { status: 'failed', error: failure.message, completedAt: new Date() }
            : { status: 'queued', error: failure.message },
        );
        if (!failure.retryable) await job.discard();
        record(final ? 'failed' : 'retried');
        throw error;
      }
    });
  }

  private describe(error: unknown): { retryable: boolean; message: string } {
    if (error instanceof FinalProviderError) {
      return { retryable: false, message: errorMessage('generating text', error.message) };
    }
    if (error instanceof RetryableProviderError) {
      return { retryable: true, message: errorMessage('generating text', error.message) };
    }
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      return {
        retryable: true,
        message: errorMessage(
          'generating text',
          `the attempt took longer than ${this.config.queue.jobTimeoutMs} ms`,
        ),
      };
    }
    return {
      retryable: true,
      message: errorMessage('generating text', 'an unexpected error occurred'),
    };
  }

  /** Jobs failed outside the processor (stalled too often, Bull's timeout) still fail their record. */
  private async onFailed(job: Job<GenerationJobData>, error: Error): Promise<void> {
    if (job.name === RETENTION_JOB) return;
    const exhausted = job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!exhausted) return;
    await runInJobContext(job, async () => {
      const result = await this.generations.update(
        { id: job.data.generationId, status: In(['queued', 'running']) },
        {
          status: 'failed',
          error: errorMessage('running generation', error.message.slice(0, 500)),
          completedAt: new Date(),
        },
      );
      if (result.affected)
        logger.warn(
          { generationId: job.data.generationId, reason: error.message },
          'generation failed outside the processor',
        );
    }).catch((failure: unknown) => logger.error({ err: failure }, 'Error recording a failed job'));
  }

  /** Re-queues queued (or orphaned running) records whose job is gone, e.g. after Redis lost it. */
  async reconcile(): Promise<number> {
    try {
      const graceMs = Math.max(10_000, this.config.queue.lockDurationMs * 2);
      const candidates = await this.generations.find({
        select: { id: true, status: true },
        where: {
          status: In(['queued', 'running']),
          createdAt: LessThan(new Date(Date.now() - graceMs)),
        },
        order: { createdAt: 'ASC' },
        take: 200,
      });
      let requeued = 0;
      for (const { id, status } of candidates) {
        if ((await this.queue.getJob(id)) !== null) continue;
        if (status === 'running')
          await this.generations.update({ id, status: 'running' }, { status: 'queued' });
        await this.queue.add({ generationId: id }, { jobId: id });
        requeued += 1;
      }
      if (requeued > 0) logger.warn({ requeued }, 're-queued generations whose job was missing');
      return requeued;
    } catch (error) {
      logger.warn({ err: error }, 'Error reconciling generations with the queue; will retry');
      return 0;
    }
  }

  private async scheduleRetention(): Promise<void> {
    try {
      await this.queue.add(RETENTION_JOB, {} as GenerationJobData, {
        repeat: { cron: '17 3 * * *' },
        jobId: RETENTION_JOB,
        removeOnComplete: 10,
        removeOnFail: 10,
      });
    } catch (error) {
      logger.warn({ err: error }, 'Error scheduling the retention job; will retry at next start');
    }
  }

  /** Deletes finished generations older than GENERATION_RETENTION_DAYS (0 keeps them). */
  async deleteExpired(): Promise<number> {
    const days = this.config.generations.retentionDays;
    if (days === 0) return 0;
    const result = await this.generations.delete({
      status: In(FINISHED_STATUSES),
      completedAt: LessThan(new Date(Date.now() - days * 86_400_000)),
    });
    logger.info(
      { deleted: result.affected ?? 0, retentionDays: days },
      'deleted expired generations',
    );
    return result.affected ?? 0;
  }
}
