import { AppConfig } from '@app/config';
import { withAdvisoryLock } from '@app/database';
import { isDependencyUnavailable } from '@app/exceptions';
import {
  GENERATIONS_QUEUE,
  GenerationJobData,
  GenerationQueue,
  GenerationEvents,
  GenerationStore,
  GenerationWebhooks,
  PendingDelivery,
  UnfinishedGeneration,
} from '@app/generations';
import { getLogger } from '@app/logging';
import { bullWillRun } from '@app/queue';
import { runInRootSpan } from '@app/tracing';
import { InjectQueue } from '@nestjs/bull';
import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Job, Queue } from 'bull';
import { DataSource } from 'typeorm';
import { describeJobFailure } from '../generations/generation-failure';
import { GenerationRetention } from './generation-retention';

/** How often unfinished records are checked against the queue. */
export const RECONCILE_INTERVAL_MS = 30_000;
/** Candidates read per page; a pass pages through all of them. */
const RECONCILE_PAGE = 200;
/** One reconcile at a time across every worker replica (a PostgreSQL advisory lock key). */
const RECONCILE_LOCK_KEY = 0x72_6c_72_63; // "rlrc"

/**
 * A delivery is queued right after the final transition, by the process that made it: a
 * pending one whose generation ended longer ago than this and that has no job was lost.
 */
const DELIVERY_GRACE_MS = 10_000;

export interface ReconcileResult {
  checked: number;
  requeued: number;
  failed: number;
  /** Webhook deliveries of finished generations queued again (Redis lost their job). */
  deliveriesRequeued: number;
}

const logger = getLogger('GenerationReconciler');

/**
 * Keeps records and jobs from drifting apart. Every RECONCILE_INTERVAL_MS it pages through the
 * queued and running generations older than a grace period and looks at each one's job: one
 * Bull will still run is left alone; a failed one settles the record (failed with the job's
 * reason, or queued again while it has attempts); a completed or missing one (a lost write,
 * Redis lost the job) is queued again through the api's own producer. One pass at a time, in
 * this process and across replicas. Each pass also makes sure retention is scheduled.
 */
@Injectable()
export class GenerationReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<ReconcileResult | undefined>;

  constructor(
    @InjectQueue(GENERATIONS_QUEUE) private readonly queue: Queue<GenerationJobData>,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly store: GenerationStore,
    private readonly events: GenerationEvents,
    private readonly generations: GenerationQueue,
    private readonly webhooks: GenerationWebhooks,
    private readonly retention: GenerationRetention,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.reconcile(), RECONCILE_INTERVAL_MS);
    this.timer.unref();
    void this.reconcile();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass (or the one already running); undefined when another replica holds the pass. */
  reconcile(): Promise<ReconcileResult | undefined> {
    this.pass ??= this.run().finally(() => (this.pass = undefined));
    return this.pass;
  }

  private async run(): Promise<ReconcileResult | undefined> {
    try {
      await this.retention.schedule();
      const result = await withAdvisoryLock(this.dataSource, RECONCILE_LOCK_KEY, () =>
        this.checkAll(),
      );
      if (result?.requeued) logger.warn(result, 're-queued generations whose job was missing');
      else if (result?.failed) logger.warn(result, 'failed generations whose job had failed');
      else if (result?.deliveriesRequeued)
        logger.warn(result, 're-queued webhook deliveries whose job was missing');
      return result;
    } catch (error) {
      const fields = isDependencyUnavailable(error)
        ? { reason: (error as Error).message }
        : { err: error };
      logger.warn(fields, 'Error reconciling generations with the queue; will retry');
      return undefined;
    }
  }

  private async checkAll(): Promise<ReconcileResult> {
    // A job is added right after its record: give that (and a stalled job's recovery) time.
    const graceMs = Math.max(10_000, this.config.queue.lockDurationMs * 2);
    const cutoff = new Date(Date.now() - graceMs);
    const result: ReconcileResult = { checked: 0, requeued: 0, failed: 0, deliveriesRequeued: 0 };
    let page: UnfinishedGeneration[] = [];
    do {
      const after = page[page.length - 1];
      page = await this.store.findUnfinished(cutoff, RECONCILE_PAGE, after);
      for (const candidate of page) {
        result.checked += 1;
        const outcome = await this.check(candidate);
        if (outcome === 'requeued') result.requeued += 1;
        if (outcome === 'failed') result.failed += 1;
      }
    } while (page.length === RECONCILE_PAGE);
    result.deliveriesRequeued = await this.checkDeliveries(
      new Date(Date.now() - DELIVERY_GRACE_MS),
    );
    return result;
  }

  /** The outbox: pending webhooks of finished generations that no job will deliver. */
  private async checkDeliveries(cutoff: Date): Promise<number> {
    let requeued = 0;
    let page: PendingDelivery[] = [];
    do {
      const after = page[page.length - 1];
      page = await this.store.findPendingDeliveries(cutoff, RECONCILE_PAGE, after);
      for (const delivery of page) {
        if (await this.webhooks.requeue(delivery.id, delivery.callbackAttempts)) requeued += 1;
      }
    } while (page.length === RECONCILE_PAGE);
    return requeued;
  }

  private async check(candidate: UnfinishedGeneration): Promise<'requeued' | 'failed' | 'left'> {
    const job = (await this.queue.getJob(candidate.id)) as Job<GenerationJobData> | null;
    const state = job ? await job.getState() : 'missing';
    if (bullWillRun(state)) return 'left';
    if (state === 'failed') {
      const settled = await this.store.settleFailedJob(candidate.id, {
        message: describeJobFailure(job?.failedReason, this.config.queue.jobTimeoutMs),
        maxAttempts: this.config.queue.attempts,
      });
      if (settled === 'failed') {
        await this.events.done(candidate.id, 'failed');
        if (candidate.hasCallback) this.webhooks.notify(candidate.id);
        return 'failed';
      }
      if (settled === 'none') return 'left';
    } else if (candidate.status === 'running') {
      await this.store.requeueOrphan(candidate.id, candidate.attempts);
    }
    await job?.remove();
    // a new trace (no request is waiting on it), linked to the one that created the record
    await runInRootSpan('generations requeue', candidate.traceparent ?? undefined, () =>
      this.generations.enqueue(candidate.id, { callback: candidate.hasCallback }),
    );
    return 'requeued';
  }
}
