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

/** A page position: rows strictly past this (created_at, id) pair. */
export type ListPosition = Pick<Generation, 'createdAt' | 'id'>;

/** How a claim ended: an attempt to run, the budget spent (the record failed), or nothing to do. */
export type Claim =
  | { outcome: 'claimed'; attempt: number; generation: ClaimedGeneration }
  | { outcome: 'exhausted' }
  | { outcome: 'finished' };

/** A reconciler candidate. */
export type UnfinishedGeneration = Pick<Generation, 'id' | 'status' | 'attempts'>;

/** Rows deleted per statement by retention. */
const DELETE_BATCH = 1000;

/** A failure is final when another attempt would only repeat it, or when none is left. */
function isFinal(failure: AttemptFailure): boolean {
  return !failure.retryable || failure.attempt >= failure.maxAttempts;
}

/**
 * The generations table: every read and write of it, and every status transition of its rows,
 * in one place and one style — parameterised SQL through TypeORM's connection (its logger still
 * times every statement), one round trip per change, each transition a single conditional
 * UPDATE so that concurrent writers (the api cancelling, workers, the reconciler) never
 * overwrite each other:
 *
 *   queued ──claim──▶ running ──succeed──▶ succeeded
 *     │  ▲              │ └──failAttempt──▶ failed (final) / queued (retry)
 *     │  └─requeueOrphan┘
 *     └──cancel──▶ cancelled     claim without budget, settleFailedJob ──▶ failed
 *
 * A running record carries its attempt's number; every write an attempt makes afterwards is
 * guarded by it, so an old attempt (its worker timed out or lost the job's lock) changes
 * nothing once a newer one has started.
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
      // The cursor's own row gives the exact created_at (microseconds; the cursor holds
      // milliseconds), so rows of one millisecond are neither skipped nor repeated.
      params.push(options.after.createdAt, options.after.id);
      const [at, id] = [`$${params.length - 1}`, `$${params.length}`];
      conditions.push(
        `(created_at, id) < (COALESCE((SELECT created_at FROM generations WHERE id = ${id}::uuid AND owner_id = $1), ${at}), ${id}::uuid)`,
      );
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
   * Starts the next attempt: queued (or running, when a job runs again after its worker died)
   * → running with `attempts + 1`, the attempt's number returned for every later write to
   * carry. The retry budget is the record's, across re-created jobs: with none left the record
   * fails now. `finished` when it is finished, cancelled or gone and nothing must run.
   */
  async claim(id: string, budget: { maxAttempts: number; exhausted: string }): Promise<Claim> {
    const { rows } = await this.execute<
      ClaimedGeneration & { status: GenerationStatus; attempts: number }
    >(
      `UPDATE generations
          SET status = CASE WHEN attempts < $2 THEN 'running' ELSE 'failed' END,
              attempts = CASE WHEN attempts < $2 THEN attempts + 1 ELSE attempts END,
              error = CASE WHEN attempts < $2 THEN NULL ELSE COALESCE(error, $3) END,
              completed_at = CASE WHEN attempts < $2 THEN NULL ELSE now() END,
              started_at = COALESCE(started_at, now())
        WHERE id = $1 AND status IN ('queued', 'running')
    RETURNING status, attempts, prompt, model, max_tokens AS "maxTokens", temperature`,
      [id, budget.maxAttempts, budget.exhausted],
    );
    const row = rows[0];
    if (!row) return { outcome: 'finished' };
    if (row.status === 'failed') return { outcome: 'exhausted' };
    const { attempts, prompt, model, maxTokens, temperature } = row;
    return {
      outcome: 'claimed',
      attempt: attempts,
      generation: { prompt, model, maxTokens, temperature },
    };
  }

  /** running → succeeded, if `attempt` is still the current one; false when it is not. */
  async succeed(
    id: string,
    attempt: number,
    output: { text: string; promptTokens: number; completionTokens: number },
  ): Promise<boolean> {
    const { affected } = await this.execute(
      `UPDATE generations
          SET status = 'succeeded', result = $3, prompt_tokens = $4, completion_tokens = $5,
              completed_at = now()
        WHERE id = $1 AND status = 'running' AND attempts = $2`,
      [id, attempt, output.text, output.promptTokens, output.completionTokens],
    );
    return affected > 0;
  }

  /**
   * The current attempt failed: running → failed when the failure is final, else → queued for
   * the next one. An attempt that is no longer the current one changes nothing (`skipped`).
   */
  async failAttempt(id: string, failure: AttemptFailure): Promise<AttemptFailureOutcome> {
    const final = isFinal(failure);
    const { affected } = await this.execute(
      final
        ? `UPDATE generations SET status = 'failed', error = $3, completed_at = now()
            WHERE id = $1 AND status = 'running' AND attempts = $2`
        : `UPDATE generations SET status = 'queued', error = $3
            WHERE id = $1 AND status = 'running' AND attempts = $2`,
      [id, failure.attempt, failure.message],
    );
    if (affected === 0) return 'skipped';
    return final ? 'failed' : 'requeued';
  }

  /**
   * A job Bull gave up on (stalled too often, timed out, out of its own attempts): a running
   * record fails with `message`; a queued one that still has attempts needs a new job
   * (`requeue`); a finished one is left alone (`none`).
   */
  async settleFailedJob(
    id: string,
    job: { message: string; maxAttempts: number },
  ): Promise<'failed' | 'requeue' | 'none'> {
    const { affected } = await this.execute(
      `UPDATE generations SET status = 'failed', error = $2, completed_at = now()
        WHERE id = $1 AND (status = 'running' OR (status = 'queued' AND attempts >= $3))`,
      [id, job.message, job.maxAttempts],
    );
    if (affected > 0) return 'failed';
    const { rows } = await this.execute<{ status: GenerationStatus }>(
      'SELECT status FROM generations WHERE id = $1',
      [id],
    );
    return rows[0]?.status === 'queued' ? 'requeue' : 'none';
  }

  /**
   * Unfinished generations created before `cutoff`, oldest first, `limit` of them after
   * `after`: the reconciler pages through all of them, never the same first page again.
   */
  async findUnfinished(
    cutoff: Date,
    limit: number,
    after?: Pick<Generation, 'id'>,
  ): Promise<UnfinishedGeneration[]> {
    // The position is the last row's own created_at, read in the database: a JavaScript Date
    // keeps milliseconds, the column microseconds, and rows of one millisecond would repeat.
    const { rows } = await this.execute<UnfinishedGeneration>(
      `SELECT id, status, attempts FROM generations
        WHERE status IN ('queued', 'running') AND created_at < $1
          AND ($3::uuid IS NULL OR (created_at, id) > (
                (SELECT created_at FROM generations WHERE id = $3), $3::uuid))
        ORDER BY created_at ASC, id ASC LIMIT $2`,
      [cutoff, limit, after?.id ?? null],
    );
    return rows;
  }

  /** running → queued for a generation whose job is gone, if `attempts` is still current. */
  async requeueOrphan(id: string, attempts: number): Promise<void> {
    await this.execute(
      `UPDATE generations SET status = 'queued'
        WHERE id = $1 AND status = 'running' AND attempts = $2`,
      [id, attempts],
    );
  }

  /**
   * Deletes finished generations completed before `cutoff`, in batches (no statement holds
   * many locks or runs long); returns how many.
   */
  async deleteFinishedBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const { affected } = await this.execute(
        `DELETE FROM generations WHERE id IN (
           SELECT id FROM generations WHERE status = ANY($1) AND completed_at < $2 LIMIT $3)`,
        [FINISHED_STATUSES, cutoff, DELETE_BATCH],
      );
      deleted += affected;
      if (affected < DELETE_BATCH) return deleted;
    }
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
