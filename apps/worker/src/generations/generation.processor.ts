import { AppConfig } from '@app/config';
import { errorMessage, isDependencyUnavailable } from '@app/exceptions';
import {
  DeltaWriter,
  GENERATIONS_QUEUE,
  GenAiProvider,
  GenerationEvents,
  GenerationJobData,
  GenerationQueue,
  GenerationStore,
  GenerationWebhooks,
} from '@app/generations';
import { RunningTasks, ShutdownState } from '@app/lifecycle';
import { getLogger, runInJobContext } from '@app/logging';
import { processQueue, runJob } from '@app/queue';
import { InjectQueue } from '@nestjs/bull';
import {
  BeforeApplicationShutdown,
  Injectable,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import type { Job, Queue } from 'bull';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AttemptStopped,
  StopReason,
  describeFailure,
  describeJobFailure,
  stoppedByCancel,
} from './generation-failure';
import { JobOutcome, generationJobDuration, generationJobsTotal } from './generation-job.metrics';

/** A database blip while claiming is waited out this long before it costs the job an attempt. */
const CLAIM_RETRY_MS = 30_000;
const CLAIM_RETRY_INTERVAL_MS = 1000;
/**
 * How often a worker with attempts running asks PostgreSQL whether any of them was cancelled
 * (one indexed query for all of them): a cancelled call is aborted within about this long.
 */
const CANCEL_CHECK_INTERVAL_MS = 1000;

const logger = getLogger('GenerationProcessor');

/**
 * Runs generations, WORKER_CONCURRENCY at a time: claim (`running`, the next attempt number) →
 * provider → `succeeded`, or a failed attempt that the store turns into `failed` (final) or
 * `queued` (Bull retries it after its backoff). Each attempt has one AbortController, made
 * before the claim and aborted at its deadline, when Bull times the job out, when the job's
 * lock cannot be extended, when a shutdown is about to run out of time, and when its client
 * cancelled the generation (then the attempt ends without a write and is not retried); every
 * write the attempt makes carries its number, so a stopped attempt never overwrites a newer one.
 */
@Injectable()
export class GenerationProcessor
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  /** The attempt's one deadline: JOB_TIMEOUT_MS (a provider bounds its own idle waits). */
  private readonly attemptTimeoutMs: number;
  /** Attempts running in this process, by job id, with their generation's id. */
  private readonly running = new RunningTasks<string>('attempts');
  private cancelChecks?: NodeJS.Timeout;
  private checkingCancels = false;

  constructor(
    @InjectQueue(GENERATIONS_QUEUE) private readonly queue: Queue<GenerationJobData>,
    private readonly generations: GenerationQueue,
    private readonly store: GenerationStore,
    private readonly events: GenerationEvents,
    private readonly webhooks: GenerationWebhooks,
    private readonly provider: GenAiProvider,
    private readonly shutdown: ShutdownState,
    private readonly config: AppConfig,
  ) {
    this.attemptTimeoutMs = config.queue.jobTimeoutMs;
  }

  onApplicationBootstrap(): void {
    processQueue(this.queue, this.config.worker.concurrency, (job) => this.run(job));
    this.queue.on('failed', (job, error) => void this.onFailed(job, error));
    this.queue.on('lock-extension-failed', (job: Job) => this.stop(job, 'lock-lost'));
    this.cancelChecks = setInterval(() => void this.abortCancelled(), CANCEL_CHECK_INTERVAL_MS);
    this.cancelChecks.unref();
    // From SIGTERM on, no new job starts here; the ones running finish or are stopped in time.
    this.shutdown.onBegin(() => {
      this.queue.pause(true, true).catch((error: unknown) => {
        logger.warn({ err: error }, 'Error pausing the queue for shutdown');
      });
    });
  }

  /** Lets running attempts finish; stops the ones that would outlast SHUTDOWN_TIMEOUT_MS. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.running.settle(this.config.shutdown.timeoutMs, () => new AttemptStopped('shutdown'));
  }

  onApplicationShutdown(): void {
    clearInterval(this.cancelChecks);
  }

  /** Aborts the calls of running attempts whose generation its client has cancelled. */
  private async abortCancelled(): Promise<void> {
    if (this.checkingCancels || this.running.size === 0) return;
    this.checkingCancels = true;
    try {
      const running = this.running.entries();
      const cancelled = new Set(
        await this.store.cancelledAmong(running.map(([, generationId]) => generationId)),
      );
      for (const [jobId, generationId] of running) {
        if (cancelled.has(generationId)) this.running.stop(jobId, new AttemptStopped('cancelled'));
      }
    } catch (error) {
      // PostgreSQL away: the attempt's own writes will find the record cancelled anyway
      logger.debug({ err: error }, 'could not check running generations for cancels');
    } finally {
      this.checkingCancels = false;
    }
  }

  /** One attempt of one generation. Idempotent: a job that runs twice leaves one record. */
  async run(job: Job<GenerationJobData>): Promise<void> {
    const jobId = String(job.id);
    const deadline = setTimeout(
      () => this.running.stop(jobId, new AttemptStopped('deadline')),
      this.attemptTimeoutMs,
    );
    try {
      await this.running.run(jobId, job.data.generationId, (signal) =>
        runJob(job, () => this.attempt(job, signal)),
      );
    } finally {
      clearTimeout(deadline);
    }
  }

  private async attempt(job: Job<GenerationJobData>, signal: AbortSignal): Promise<void> {
    const id = job.data.generationId;
    const started = process.hrtime.bigint();
    const record = (outcome: JobOutcome): void => {
      const labels = { provider: this.provider.name, outcome };
      generationJobsTotal.inc(labels);
      generationJobDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    };
    const claim = await this.claim(id, signal);
    if (claim.outcome === 'finished') {
      logger.info({ generationId: id }, 'generation is finished, cancelled or gone; skipping');
      record('skipped');
      return;
    }
    if (claim.outcome === 'exhausted' || claim.outcome === 'over_budget') {
      logger.warn(
        { generationId: id },
        claim.outcome === 'exhausted'
          ? 'generation has no attempt left; failed'
          : "the key's daily token budget is spent; generation failed without running",
      );
      record('failed');
      this.ended(job, 'failed');
      await job.discard();
      return;
    }
    const { attempt, generation, startedAt } = claim;
    // the event log: running, then the text as it comes (sent in order on one connection)
    void this.events.status({
      id,
      status: 'running',
      attempts: attempt,
      startedAt,
      completedAt: null,
    });
    const deltas = new DeltaWriter(this.events, id, attempt);
    try {
      const output = await this.provider.generate(
        {
          prompt: generation.prompt,
          model: generation.model,
          maxTokens: generation.maxTokens ?? undefined,
          temperature: generation.temperature ?? undefined,
        },
        signal,
        deltas.push,
      );
      deltas.end();
      if (!(await this.store.succeed(id, attempt, output))) {
        // rare: say which (a cancel that won the race; a newer attempt, or a claim PostgreSQL
        // lost in a crash — the record queued again, for the reconciler to run)
        if ((await this.store.cancelledAmong([id])).length > 0) {
          logger.info(
            { generationId: id, attempt },
            'result discarded: the generation was cancelled',
          );
          record('cancelled');
          return;
        }
        logger.warn(
          { generationId: id, attempt },
          "result discarded: the record is no longer this attempt's (a newer attempt, or a lost claim)",
        );
        record('skipped');
        return;
      }
      record('succeeded');
      this.ended(job, 'succeeded');
      logger.info(
        { generationId: id, provider: this.provider.name, attempt },
        'generation succeeded',
      );
    } catch (error) {
      deltas.discard();
      if (stoppedByCancel(signal)) {
        // the record is cancelled already; the job completes, so Bull does not retry it
        logger.info({ generationId: id, attempt }, 'generation cancelled; provider call aborted');
        record('cancelled');
        return;
      }
      const failure = describeFailure(
        signal.aborted ? signal.reason : error,
        this.attemptTimeoutMs,
      );
      const outcome = await this.store.failAttempt(id, {
        ...failure,
        attempt,
        maxAttempts: this.config.queue.attempts,
      });
      if (outcome === 'failed') this.ended(job, 'failed');
      if (outcome === 'requeued')
        void this.events.status({
          id,
          status: 'queued',
          attempts: attempt,
          startedAt,
          completedAt: null,
        });
      if (outcome === 'failed') await job.discard();
      record(outcome === 'requeued' ? 'retried' : outcome === 'failed' ? 'failed' : 'skipped');
      throw error;
    }
  }

  /** The claim, retried in-process while PostgreSQL is briefly unreachable. */
  private async claim(id: string, signal: AbortSignal): ReturnType<GenerationStore['claim']> {
    const budget = {
      maxAttempts: this.config.queue.attempts,
      exhausted: errorMessage(
        'running generation',
        `no attempt left after ${this.config.queue.attempts} tries`,
      ),
      dailyTokens: this.config.keyLimits.dailyTokens,
      overBudget: errorMessage(
        'running generation',
        "the API key's daily token budget was spent before it could start",
      ),
    };
    const giveUpAt = Date.now() + CLAIM_RETRY_MS;
    for (;;) {
      try {
        return await this.store.claim(id, budget);
      } catch (error) {
        if (!isDependencyUnavailable(error) || Date.now() >= giveUpAt || signal.aborted)
          throw error;
        logger.warn({ generationId: id }, 'PostgreSQL unavailable while claiming; retrying');
        await sleep(CLAIM_RETRY_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /**
   * A job Bull failed — by the processor's error, or outside it (stalled too often, its own
   * timeout). Once the job is failed for good, the record follows: failed with the reason, or a
   * new job when the record still has attempts. A job already removed is nothing to do: the
   * reconciler finds its record.
   */
  private async onFailed(job: Job<GenerationJobData> | null, error: Error): Promise<void> {
    if (!job) return;
    if (error?.message?.startsWith('Promise timed out')) this.stop(job, 'bull-timeout');
    await runInJobContext(job, async () => {
      if (!(await job.isFailed())) return;
      const id = job.data.generationId;
      const settled = await this.store.settleFailedJob(id, {
        message: describeJobFailure(error?.message, this.attemptTimeoutMs),
        maxAttempts: this.config.queue.attempts,
      });
      if (settled === 'failed') this.ended(job, 'failed');
      if (settled === 'failed')
        logger.warn(
          { generationId: id, reason: error?.message },
          'generation failed outside an attempt',
        );
      if (settled === 'requeue') {
        await job.remove();
        await this.generations.enqueue(id, { callback: job.data.callback === true });
      }
    }).catch((failure: unknown) => logger.error({ err: failure }, 'Error recording a failed job'));
  }

  /**
   * After a final transition this process made: the stream's `done`, and the webhook's
   * delivery when the generation has one — both sent without waiting (the outbox is the
   * record: the reconciler queues a delivery that did not reach Redis).
   */
  private ended(job: Job<GenerationJobData>, status: 'succeeded' | 'failed'): void {
    void this.events.done(job.data.generationId, status);
    if (job.data.callback) this.webhooks.notify(job.data.generationId);
  }

  private stop(job: Job | null, reason: StopReason): void {
    if (job) this.running.stop(String(job.id), new AttemptStopped(reason));
  }
}
