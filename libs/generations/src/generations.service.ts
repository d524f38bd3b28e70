import { AppConfig } from '@app/config';
import { AppException, errorMessage } from '@app/exceptions';
import { getLogContext } from '@app/logging';
import { activeTraceparent } from '@app/tracing';
import { keyLimitRefusalsTotal } from '@app/metrics';
import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateGenerationDto } from './dto/create-generation.dto';
import { ListGenerationsQuery } from './dto/list-generations.query';
import { Generation } from './generation.entity';
import { ENQUEUE_TIMEOUT_MS, GenerationQueue } from './generation-queue';
import { CreateResult, GenerationStore, KeyQuota, ListPosition } from './generation.store';
import { allowedModelsOf, defaultModelOf } from './providers/genai-providers';
import { GenerationEvents } from './events/generation-events';
import { GenerationWebhooks } from './webhooks/generation-webhooks';
import { ReceiverPolicy, ReceiverRefused } from '@app/webhooks';

/** An Idempotency-Key is remembered this long per user. */
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Whether an earlier request still holds its Idempotency-Key. */
function remembered(earlier: Generation): boolean {
  return Date.now() - earlier.createdAt.getTime() <= IDEMPOTENCY_WINDOW_MS;
}
const DEFAULT_LIMIT = 20;
const SETTLE_POLL_MS = 50;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Who asks: the key's owner (who owns the generation) and the key (whose quotas count it). */
export interface Caller {
  userId: string;
  keyId: string | null;
  /** The key's quotas; none for a caller without a key. */
  quota?: KeyQuota;
}

export interface CreateOutcome {
  generation: Generation;
  /** True when an earlier request with the same Idempotency-Key is answered again. */
  replayed: boolean;
}

function notFound(): AppException {
  return new AppException(404, errorMessage('finding generation', 'no such generation'));
}

function requestHash(dto: CreateGenerationDto): string {
  const fields: unknown[] = [
    dto.prompt,
    dto.model ?? null,
    dto.maxTokens ?? null,
    dto.temperature ?? null,
  ];
  // a callbackUrl is part of the request; without one the hash is what it always was
  if (dto.callbackUrl !== undefined) fields.push(dto.callbackUrl);
  const canonical = JSON.stringify(fields);
  return createHash('sha256').update(canonical).digest('hex');
}

function encodeCursor(generation: Generation): string {
  return Buffer.from(`${generation.createdAt.toISOString()}|${generation.id}`).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): ListPosition {
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (rest.length > 0 || Number.isNaN(createdAt.getTime()) || !UUID.test(id ?? '')) {
    throw new AppException(400, errorMessage('listing generations', 'the cursor is not valid'), {
      code: 'VALIDATION_FAILED',
      errors: [
        { field: 'cursor', messages: ['cursor must be a nextCursor value from a previous page'] },
      ],
    });
  }
  return { createdAt, id };
}

/** Seconds from now to the next midnight UTC, when a day's token budget starts again. */
export function secondsToNextUtcDay(now = new Date()): number {
  const midnight = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((midnight - now.getTime()) / 1000));
}

/** A 429 `QUOTA_EXCEEDED` saying which quota, counted by policy (never by key). */
function quotaExceeded(
  refusal: Exclude<CreateResult, { outcome: 'created' | 'duplicate' }>,
  quota: KeyQuota,
): AppException {
  keyLimitRefusalsTotal.inc({ policy: refusal.outcome });
  if (refusal.outcome === 'max_active') {
    return new AppException(
      429,
      errorMessage(
        'creating generation',
        `this API key has ${refusal.active} generations queued or running, its limit of ${quota.maxActive} at once; retry when one ends`,
      ),
      { code: 'QUOTA_EXCEEDED' },
    );
  }
  const retryAfter = secondsToNextUtcDay();
  return new AppException(
    429,
    errorMessage(
      'creating generation',
      `this API key has used its daily budget of ${quota.dailyTokens} tokens (${refusal.used} used today); retry after midnight UTC`,
    ),
    { code: 'QUOTA_EXCEEDED', headers: { 'Retry-After': String(retryAfter) } },
  );
}

/**
 * Generations as the api sees them: created queued and put on the queue (or not at all: a
 * record nothing will run is never left behind), read and listed by their owner only, cancelled
 * while still queued. The table itself is the store's.
 */
@Injectable()
export class GenerationsService {
  private readonly defaultModel: string;
  private readonly models: Set<string>;
  private readonly defaultMaxTokens: number;
  private readonly webhooksConfigured: boolean;

  constructor(
    private readonly store: GenerationStore,
    private readonly queue: GenerationQueue,
    private readonly events: GenerationEvents,
    private readonly webhooks: GenerationWebhooks,
    private readonly receivers: ReceiverPolicy,
    config: AppConfig,
  ) {
    this.defaultModel = defaultModelOf(config);
    this.models = new Set(allowedModelsOf(config));
    this.defaultMaxTokens = config.genai.defaultMaxTokens;
    this.webhooksConfigured = config.webhooks.secrets.length > 0;
  }

  /** `idempotencyKey` has been checked at the HTTP edge (1–255 printable ASCII characters). */
  async create(
    caller: Caller,
    dto: CreateGenerationDto,
    idempotencyKey?: string,
  ): Promise<CreateOutcome> {
    const ownerId = caller.userId;
    // The operator pays for what a request names: only the allowed models run.
    if (dto.model !== undefined && !this.models.has(dto.model)) {
      throw new AppException(400, errorMessage('validating request', '1 field is invalid'), {
        code: 'VALIDATION_FAILED',
        errors: [
          { field: 'model', messages: [`model must be one of ${[...this.models].join(', ')}`] },
        ],
      });
    }
    const callbackUrl =
      dto.callbackUrl === undefined ? null : await this.acceptCallback(dto.callbackUrl);
    const hash = requestHash(dto);
    if (idempotencyKey !== undefined) {
      const earlier = await this.rememberedRequest(ownerId, idempotencyKey);
      if (earlier) {
        const queued = await this.settled(earlier);
        if (queued) return this.replay(queued, hash);
      }
    }

    const created = await this.store.createQueued(
      {
        ownerId,
        apiKeyId: caller.keyId,
        prompt: dto.prompt,
        model: dto.model ?? this.defaultModel,
        maxTokens: dto.maxTokens ?? this.defaultMaxTokens,
        // stored as PostgreSQL's real: a float32 (1e-300 would be out of its range, a 500)
        temperature: dto.temperature === undefined ? null : Math.fround(dto.temperature),
        requestId: getLogContext()?.requestId ?? null,
        traceparent: activeTraceparent() ?? null,
        idempotencyKey: idempotencyKey ?? null,
        requestHash: hash,
        callbackUrl,
      },
      caller.quota,
    );
    if (created.outcome === 'duplicate') {
      // Another request with the same key won the race: answer with its generation.
      const found = await this.store.findByIdempotencyKey(ownerId, idempotencyKey as string);
      const winner = found && (await this.settled(found));
      if (!winner)
        throw new AppException(409, errorMessage('creating generation', 'retry the request'));
      return this.replay(winner, hash);
    }
    if (created.outcome !== 'created') throw quotaExceeded(created, caller.quota as KeyQuota);
    const { generation } = created;
    try {
      await this.queue.enqueue(generation.id, { callback: callbackUrl !== null });
    } catch (error) {
      await this.store.discardUnqueued(generation.id);
      throw error;
    }
    return { generation, replayed: false };
  }

  /**
   * Whether a POST with this Idempotency-Key will be answered as a replay of an earlier one:
   * such a request is exempt from the `generations` throttler (it creates nothing).
   */
  async isReplay(ownerId: string, idempotencyKey: string): Promise<boolean> {
    const earlier = await this.store.findByIdempotencyKey(ownerId, idempotencyKey);
    return earlier !== null && remembered(earlier);
  }

  async get(ownerId: string, id: string): Promise<Generation> {
    const generation = await this.store.findOwned(ownerId, id);
    if (!generation) throw notFound();
    return generation;
  }

  async list(
    ownerId: string,
    query: ListGenerationsQuery,
  ): Promise<{ items: Generation[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const rows = await this.store.list(ownerId, {
      status: query.status,
      limit: limit + 1,
      after: query.cursor ? decodeCursor(query.cursor) : undefined,
    });
    const items = rows.slice(0, limit);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null,
    };
  }

  /**
   * Cancels a queued or running generation; cancelling a cancelled one answers it again. A
   * queued one's job is removed; a running one's worker sees the record and aborts its call.
   */
  async cancel(ownerId: string, id: string): Promise<Generation> {
    const cancelled = await this.store.cancel(ownerId, id);
    if (cancelled) {
      // Bull cannot remove an active job (it is locked): its worker finishes it, writing nothing
      if (!cancelled.wasRunning) await this.queue.remove(id);
      await this.events.done(id, 'cancelled');
      if (cancelled.generation.callbackUrl !== null) this.webhooks.notify(id);
      return cancelled.generation;
    }
    const generation = await this.get(ownerId, id);
    if (generation.status === 'cancelled') return generation;
    throw new AppException(
      409,
      errorMessage(
        'cancelling generation',
        `it has ${generation.status}; only queued or running generations can be cancelled`,
      ),
    );
  }

  /**
   * A callbackUrl the receiver rules accept, normalised; a 400 naming the field when they do
   * not, or when webhooks are not configured (no WEBHOOK_SECRET to sign them with).
   */
  private async acceptCallback(raw: string): Promise<string> {
    const refuse = (message: string) =>
      new AppException(400, errorMessage('validating request', '1 field is invalid'), {
        code: 'VALIDATION_FAILED',
        errors: [{ field: 'callbackUrl', messages: [message] }],
      });
    if (!this.webhooksConfigured)
      throw refuse('webhooks are not configured on this server (no WEBHOOK_SECRET)');
    try {
      return await this.receivers.accept(raw);
    } catch (error) {
      if (error instanceof ReceiverRefused) throw refuse(error.reason);
      throw error;
    }
  }

  /**
   * A replay answers a generation only once it is really on the queue: the first request may
   * still be queueing it, or be about to delete it because the queue refused it. Null when it
   * was deleted (the key is free again); a queue that cannot answer is a 503.
   */
  private async settled(earlier: Generation): Promise<Generation | null> {
    if (earlier.status !== 'queued' || earlier.attempts > 0) return earlier;
    const giveUpAt = Date.now() + ENQUEUE_TIMEOUT_MS;
    for (;;) {
      if (await this.queue.hasJob(earlier.id)) return earlier;
      if (!(await this.store.findOwned(earlier.ownerId, earlier.id))) return null;
      // a queued record without a job for this long is the reconciler's to repair
      if (Date.now() > giveUpAt) return earlier;
      await sleep(SETTLE_POLL_MS);
    }
  }

  /** The generation an Idempotency-Key still names; past the window the key is released. */
  private async rememberedRequest(ownerId: string, key: string): Promise<Generation | null> {
    const earlier = await this.store.findByIdempotencyKey(ownerId, key);
    if (!earlier) return null;
    if (remembered(earlier)) return earlier;
    await this.store.forgetIdempotencyKey(earlier.id);
    return null;
  }

  private replay(earlier: Generation, hash: string): CreateOutcome {
    if (earlier.requestHash !== hash) {
      throw new AppException(
        422,
        errorMessage(
          'creating generation',
          'this Idempotency-Key was used with a different request body',
        ),
        { code: 'IDEMPOTENCY_KEY_REUSED' },
      );
    }
    return { generation: earlier, replayed: true };
  }
}
