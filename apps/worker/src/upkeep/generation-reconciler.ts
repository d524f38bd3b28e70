import { AppConfig } from '@app/config';
import { GenerationQueue, GenerationStore } from '@app/generations';
import { getLogger } from '@app/logging';
import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

/** How often unfinished records are checked against the queue. */
export const RECONCILE_INTERVAL_MS = 30_000;
/** Candidates read per pass. */
const RECONCILE_BATCH = 200;

const logger = getLogger('GenerationReconciler');

/**
 * Keeps records and jobs from drifting apart: every RECONCILE_INTERVAL_MS, a queued (or
 * orphaned running) generation older than a grace period whose job is gone — Redis lost it,
 * or it was never added — is queued again through the api's own producer.
 */
@Injectable()
export class GenerationReconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: GenerationStore,
    private readonly queue: GenerationQueue,
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

  /** One pass; returns how many generations it queued again. */
  async reconcile(): Promise<number> {
    try {
      // A job is added right after its record: give that (and a stalled job's recovery) time.
      const graceMs = Math.max(10_000, this.config.queue.lockDurationMs * 2);
      const candidates = await this.store.findUnfinished(
        new Date(Date.now() - graceMs),
        RECONCILE_BATCH,
      );
      let requeued = 0;
      for (const { id, status } of candidates) {
        if (await this.queue.hasJob(id)) continue;
        if (status === 'running') await this.store.requeueOrphan(id);
        await this.queue.enqueue(id);
        requeued += 1;
      }
      if (requeued > 0) logger.warn({ requeued }, 're-queued generations whose job was missing');
      return requeued;
    } catch (error) {
      logger.warn({ err: error }, 'Error reconciling generations with the queue; will retry');
      return 0;
    }
  }
}
