import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { FINISHED_STATUSES, Generation, GenerationStatus } from './generation.entity';

/** What a new generation is made of; it starts `queued`. */
export type NewGeneration = Pick<
  Generation,
  'ownerId' | 'prompt' | 'model' | 'maxTokens' | 'temperature' | 'requestId' | 'idempotencyKey'
> & { requestHash: string };

/** What one attempt needs to call the provider. */
export type ClaimedGeneration = Pick<Generation, 'prompt' | 'model' | 'maxTokens' | 'temperature'>;

/** How one attempt failed, as the worker saw it. */
export interface AttemptFailure {
  message: string;
  retryable: boolean;
  /** 1-based number of this attempt, and how many the generation may have. */
  attempt: number;
  maxAttempts: number;
}

/** Where a failed attempt left the record: failed for good, queued again, or untouched. */
export type AttemptFailureOutcome = 'failed' | 'requeued' | 'skipped';

/** A page position: rows strictly older than this (created_at, id) pair. */
export type ListPosition = Pick<Generation, 'createdAt' | 'id'>;

/** A failure is final when another attempt would only repeat it, or when none is left. */
function isFinal(failure: AttemptFailure): boolean {
  return !failure.retryable || failure.attempt >= failure.maxAttempts;
}

/**
 * The generations table: every read and write of it, and every status transition of its rows,
 * in one place and one style — parameterised SQL through TypeORM's connection (its logger still
 * times every statement), one round trip per change, each transition a single conditional
 * UPDATE so that concurrent writers (the api cancelling, a worker finishing, the reconciler)
 * never overwrite each other:
 *
 *   queued ──claim──▶ running ──succeed──▶ succeeded
 *     │  ▲              │ └──failAttempt──▶ failed (final) / queued (retry)
 *     │  └─requeueOrphan┘
 *     └──cancel──▶ cancelled          failExhausted: queued|running ──▶ failed
 */
@Injectable()
export class GenerationStore {
  private selectList?: string;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Every column, aliased to its property: rows come back as `Generation`s, unmapped. */
  private get columns(): string {
    this.selectList ??= this.dataSource
      .getMetadata(Generation)
      .columns.map((column) => `${column.databaseName} AS "${column.propertyName}"`)
      .join(', ');
    return this.selectList;
  }

  /** Inserts a queued generation; null when the owner's Idempotency-Key is already taken. */
  async createQueued(input: NewGeneration): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `INSERT INTO generations
         (owner_id, status, prompt, model, max_tokens, temperature, request_id, idempotency_key, request_hash)
       VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT DO NOTHING
       RETURNING ${this.columns}`,
      [
        input.ownerId,
        input.prompt,
        input.model,
        input.maxTokens,
        input.temperature,
        input.requestId,
        input.idempotencyKey,
        input.requestHash,
      ],
    );
    return rows[0] ?? null;
  }

  /** Removes a generation that never reached the queue, so no record waits for nothing. */
  async discardUnqueued(id: string): Promise<void> {
    await this.execute(`DELETE FROM generations WHERE id = $1 AND status = 'queued'`, [id]);
  }

  async findOwned(ownerId: string, id: string): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generations WHERE id = $1 AND owner_id = $2`,
      [id, ownerId],
    );
    return rows[0] ?? null;
  }

  async findByIdempotencyKey(ownerId: string, key: string): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generations WHERE owner_id = $1 AND idempotency_key = $2`,
      [ownerId, key],
    );
    return rows[0] ?? null;
  }

  /** Frees an Idempotency-Key past its window, so that it can name a new request. */
  async forgetIdempotencyKey(id: string): Promise<void> {
    await this.execute('UPDATE generations SET idempotency_key = NULL WHERE id = $1', [id]);
  }

  /** The owner's generations, newest first, `limit` of them after `after`. */
  async list(
    ownerId: string,
    options: { status?: GenerationStatus; limit: number; after?: ListPosition },
  ): Promise<Generation[]> {
    const conditions = ['owner_id = $1'];
    const params: unknown[] = [ownerId];
    if (options.status) {
      params.push(options.status);
      conditions.push(`status = $${params.length}`);
    }
    if (options.after) {
      params.push(options.after.createdAt, options.after.id);
      conditions.push(`(created_at, id) < ($${params.length - 1}, $${params.length})`);
    }
    params.push(options.limit);
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generations WHERE ${conditions.join(' AND ')}
        ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
    return rows;
  }

  /** queued → cancelled; null when the generation is not the owner's or not queued. */
  async cancel(ownerId: string, id: string): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `UPDATE generations SET status = 'cancelled', completed_at = now()
        WHERE id = $1 AND owner_id = $2 AND status = 'queued'
      RETURNING ${this.columns}`,
      [id, ownerId],
    );
    return rows[0] ?? null;
  }

  /**
   * queued (or running, when a job runs again after its worker died) → running for `attempt`;
   * null when the generation is finished, cancelled or gone, and the attempt must not run.
   */
  async claim(id: string, attempt: number): Promise<ClaimedGeneration | null> {
    const { rows } = await this.execute<ClaimedGeneration>(
      `UPDATE generations
          SET status = 'running', attempts = $2, error = NULL,
              started_at = COALESCE(started_at, now())
        WHERE id = $1 AND status IN ('queued', 'running')
    RETURNING prompt, model, max_tokens AS "maxTokens", temperature`,
      [id, attempt],
    );
    return rows[0] ?? null;
  }

  /** running → succeeded with the text and usage; false when it is no longer running. */
  async succeed(
    id: string,
    output: { text: string; promptTokens: number; completionTokens: number },
  ): Promise<boolean> {
    const { affected } = await this.execute(
      `UPDATE generations
          SET status = 'succeeded', result = $2, prompt_tokens = $3, completion_tokens = $4,
              completed_at = now()
        WHERE id = $1 AND status = 'running'`,
      [id, output.text, output.promptTokens, output.completionTokens],
    );
    return affected > 0;
  }

  /** running → failed when the failure is final, else → queued for the next attempt. */
  async failAttempt(id: string, failure: AttemptFailure): Promise<AttemptFailureOutcome> {
    const final = isFinal(failure);
    const { affected } = await this.execute(
      final
        ? `UPDATE generations SET status = 'failed', error = $2, completed_at = now()
            WHERE id = $1 AND status = 'running'`
        : `UPDATE generations SET status = 'queued', error = $2
            WHERE id = $1 AND status = 'running'`,
      [id, failure.message],
    );
    if (affected === 0) return 'skipped';
    return final ? 'failed' : 'requeued';
  }

  /**
   * A job that failed outside an attempt (stalled too often, Bull's timeout): once it has no
   * attempt left, queued|running → failed with the reason. True when the record changed.
   */
  async failExhausted(
    id: string,
    job: { attemptsMade: number; maxAttempts: number; message: string },
  ): Promise<boolean> {
    if (job.attemptsMade < job.maxAttempts) return false;
    const { affected } = await this.execute(
      `UPDATE generations SET status = 'failed', error = $2, completed_at = now()
        WHERE id = $1 AND status IN ('queued', 'running')`,
      [id, job.message],
    );
    return affected > 0;
  }

  /** Unfinished generations created before `cutoff`, oldest first: the reconciler's candidates. */
  async findUnfinished(
    cutoff: Date,
    limit: number,
  ): Promise<Array<{ id: string; status: GenerationStatus }>> {
    const { rows } = await this.execute<{ id: string; status: GenerationStatus }>(
      `SELECT id, status FROM generations
        WHERE status IN ('queued', 'running') AND created_at < $1
        ORDER BY created_at ASC LIMIT $2`,
      [cutoff, limit],
    );
    return rows;
  }

  /** running → queued for a generation whose job is gone (its worker and Redis lost it). */
  async requeueOrphan(id: string): Promise<void> {
    await this.execute(
      `UPDATE generations SET status = 'queued' WHERE id = $1 AND status = 'running'`,
      [id],
    );
  }

  /** Deletes finished generations completed before `cutoff`; returns how many. */
  async deleteFinishedBefore(cutoff: Date): Promise<number> {
    const { affected } = await this.execute(
      'DELETE FROM generations WHERE status = ANY($1) AND completed_at < $2',
      [FINISHED_STATUSES, cutoff],
    );
    return affected;
  }

  private async execute<T = never>(
    sql: string,
    params: unknown[],
  ): Promise<{ rows: T[]; affected: number }> {
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await runner.query(sql, params, true);
      return { rows: (result.records ?? []) as T[], affected: result.affected ?? 0 };
    } finally {
      await runner.release();
    }
  }
}
