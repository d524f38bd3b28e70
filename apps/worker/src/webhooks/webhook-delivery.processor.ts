import { AppConfig } from '@app/config';
import {
  Generation,
  GenerationStore,
  GenerationView,
  WEBHOOKS_QUEUE,
  WEBHOOK_BACKOFF,
  WebhookJobData,
  toView,
} from '@app/generations';
import { RunningTasks, ShutdownState } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { RetryLater, processQueue, runJob } from '@app/queue';
import {
  DeliveryResponse,
  MAX_RETRY_AFTER_MS,
  ReceiverPolicy,
  ReceiverRefused,
  WebhookSender,
  WebhookSigner,
} from '@app/webhooks';
import { InjectQueue } from '@nestjs/bull';
import { BeforeApplicationShutdown, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import type { Job, Queue } from 'bull';
import {
  DeliveryOutcome,
  webhookDeliveriesTotal,
  webhookDeliveryDuration,
} from './webhook-delivery.metrics';

/** Deliveries in flight at once per worker process: they mostly wait on receivers. */
const DELIVERY_CONCURRENCY = 8;

/** The part of a Bull queue's runtime settings that holds its custom backoff strategies. */
interface BullSettings {
  backoffStrategies: Record<string, (attemptsMade: number, error?: Error) => number>;
}

/** Bull's next attempt after `delayMs` (a 429's Retry-After, or the exponential backoff). */
class DeliveryRetry extends RetryLater {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** The envelope a receiver gets (SPEC §14); `data` is the generation as GET shows it. */
export function webhookBody(generation: Generation): string {
  // the delivery's own state is what this request changes: not part of what it says
  const data: Partial<GenerationView> = toView(generation);
  delete data.callback;
  return JSON.stringify({
    type: `generation.${generation.status}`,
    timestamp: (generation.completedAt ?? new Date()).toISOString(),
    data,
  });
}

/** The receiver as logs name it: no query string (it may carry a token). */
function receiverOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.origin}${parsed.pathname}`;
}

/** Retried: no answer, 429, 5xx. Never retried: any other status, a 3xx included. */
function isRetryable(response: DeliveryResponse): boolean {
  return !response.answered || response.status === 429 || response.status >= 500;
}

const logger = getLogger('WebhookDelivery');

/**
 * Delivers completion webhooks from the `webhooks` queue: one job per finished generation,
 * each attempt of it a Bull attempt. An attempt reads the pending delivery from PostgreSQL (the
 * outbox), checks and resolves the receiver again (the connection goes to the checked
 * address), signs the body afresh and POSTs it; its result is written on the generation
 * (`callback`), counted once. 2xx delivers; no answer, 429 and 5xx are retried with
 * exponential backoff from WEBHOOK_BACKOFF_MS (a 429's Retry-After instead, up to an hour)
 * until WEBHOOK_ATTEMPTS; any other status, a redirect included, fails the delivery at once.
 * Each attempt is logged and counted without its body.
 */
@Injectable()
export class WebhookDeliveryProcessor implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running = new RunningTasks('webhook deliveries');

  constructor(
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<WebhookJobData>,
    private readonly store: GenerationStore,
    private readonly receivers: ReceiverPolicy,
    private readonly signer: WebhookSigner,
    private readonly sender: WebhookSender,
    private readonly shutdown: ShutdownState,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    // Bull looks a job's backoff strategy up on the queue that fails the attempt: this one
    // (`settings` is Bull's, not in its typings; a strategy named in QueueOptions does the same)
    const { settings } = this.queue as unknown as { settings: BullSettings };
    settings.backoffStrategies = {
      ...settings.backoffStrategies,
      [WEBHOOK_BACKOFF]: (attemptsMade, error) =>
        error instanceof DeliveryRetry ? error.delayMs : this.backoffMs(attemptsMade),
    };
    processQueue(this.queue, DELIVERY_CONCURRENCY, (job) => this.run(job));
    this.shutdown.onBegin(() => {
      this.queue.pause(true, true).catch((error: unknown) => {
        logger.warn({ err: error }, 'Error pausing the webhooks queue for shutdown');
      });
    });
  }

  /** Lets deliveries in flight finish (each is bounded); stops the rest before the deadline. */
  async beforeApplicationShutdown(): Promise<void> {
    // stopped with the signal's own AbortError: the delivery is retried after its backoff
    await this.running.settle(this.config.shutdown.timeoutMs, () => undefined);
  }

  async run(job: Job<WebhookJobData>): Promise<void> {
    await this.running.run(String(job.id), undefined, (signal) =>
      runJob(job, () => this.deliver(job.data.generationId, signal)),
    );
  }

  /** `WEBHOOK_BACKOFF_MS × 2^(n−1)` after the n-th attempt, at most an hour. */
  private backoffMs(attempt: number): number {
    return Math.min(
      this.config.webhooks.backoffMs * 2 ** Math.max(0, attempt - 1),
      MAX_RETRY_AFTER_MS,
    );
  }

  private async deliver(generationId: string, signal: AbortSignal): Promise<void> {
    const generation = await this.store.findPendingDelivery(generationId);
    if (!generation?.callbackUrl) {
      logger.debug({ generationId }, 'no webhook pending for the generation; nothing to deliver');
      return;
    }
    const attempt = generation.callbackAttempts + 1;
    const maxAttempts = this.config.webhooks.attempts;
    const fields = { generationId, attempt, receiver: receiverOf(generation.callbackUrl) };
    if (attempt > maxAttempts) {
      await this.store.abandonDelivery(generationId);
      logger.warn({ ...fields, attempt: attempt - 1 }, 'webhook delivery failed: no attempt left');
      return;
    }
    if (!this.signer.configured) {
      // the api accepted it, so the secret is missing here: retried until it is configured
      logger.error(fields, 'cannot sign the webhook: WEBHOOK_SECRET is not set in the worker');
      throw new DeliveryRetry('WEBHOOK_SECRET is not set', this.backoffMs(attempt));
    }
    let target;
    try {
      target = await this.receivers.target(generation.callbackUrl);
    } catch (error) {
      if (!(error instanceof ReceiverRefused)) throw error;
      if (error.retryable && attempt < maxAttempts) {
        await this.store.recordDeliveryAttempt(generationId, attempt, 'pending', null);
        this.count('retried', 0);
        logger.warn({ ...fields, reason: error.reason }, 'webhook attempt failed; will retry');
        throw new DeliveryRetry(error.reason, this.backoffMs(attempt));
      }
      // refused now (DNS answers a private address since the POST): no connection is opened
      await this.store.abandonDelivery(generationId);
      this.count('failed', 0);
      logger.warn({ ...fields, reason: error.reason }, 'webhook delivery failed: receiver refused');
      return;
    }
    const body = webhookBody(generation);
    const headers = this.signer.headers(`msg_${generationId}`, body);
    const response = await this.sender.send(target, { ...headers }, body, signal);
    if (signal.aborted) throw new DeliveryRetry('stopped by shutdown', this.backoffMs(attempt));

    const delivered = response.answered && response.status >= 200 && response.status < 300;
    const retry = !delivered && isRetryable(response) && attempt < maxAttempts;
    const outcome: DeliveryOutcome = delivered ? 'delivered' : retry ? 'retried' : 'failed';
    const status = response.answered ? response.status : null;
    await this.store.recordDeliveryAttempt(
      generationId,
      attempt,
      outcome === 'retried' ? 'pending' : outcome,
      status,
    );
    this.count(outcome, response.durationMs);
    const logged = {
      ...fields,
      status,
      durationMs: response.durationMs,
      ...(response.answered ? {} : { reason: response.reason }),
    };
    if (outcome === 'delivered') {
      logger.info(logged, 'webhook delivered');
      return;
    }
    if (outcome === 'failed') {
      logger.warn(logged, 'webhook delivery failed');
      return;
    }
    const retryAfterMs =
      response.answered && response.status === 429 ? response.retryAfterMs : undefined;
    const delayMs = retryAfterMs ?? this.backoffMs(attempt);
    logger.warn({ ...logged, retryInMs: delayMs }, 'webhook attempt failed; will retry');
    throw new DeliveryRetry(`receiver answered ${status ?? 'nothing'}`, delayMs);
  }

  private count(outcome: DeliveryOutcome, durationMs: number): void {
    webhookDeliveriesTotal.inc({ outcome });
    if (durationMs > 0) webhookDeliveryDuration.observe({ outcome }, durationMs / 1000);
  }
}
