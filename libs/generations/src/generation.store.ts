import { isDependencyUnavailable } from '@app/exceptions';
import { KeyedBatches } from '@app/lifecycle';
import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import {
  CallbackState,
  FINISHED_STATUSES,
  Generation,
  GenerationStatus,
} from './generation.entity';

/** What a new generation is made of; it starts `queued`. */
export type NewGeneration = Pick<
  Generation,
  | 'ownerId'
  | 'apiKeyId'
  | 'prompt'
  | 'model'
  | 'maxTokens'
  | 'temperature'
  | 'requestId'
  | 'traceparent'
  | 'idempotencyKey'
  | 'callbackUrl'
> & { requestHash: string };

/** The creating key's quotas: generations queued or running at once, tokens per UTC day (0: none). */
export interface KeyQuota {
  maxActive: number;
  dailyTokens: number;
}

/**
 * How a create ended: the new generation; the owner's Idempotency-Key already taken
 * (`duplicate`); or a quota of the key reached, with what it stood at.
 */
export type CreateResult =
  | { outcome: 'created'; generation: Generation }
  | { outcome: 'duplicate' }
  | { outcome: 'max_active'; active: number }
  | { outcome: 'daily_tokens'; used: number };

/** What a finished attempt produced, as the provider reported it (prompt tokens may be unknown). */
export interface AttemptOutput {
  text: string;
  /** Null when the provider reported none: the prompt is estimated. */
  promptTokens: number | null;
  completionTokens: number;
}

/** What one attempt needs to call the provider. */
export type ClaimedGeneration = Pick<Generation, 'prompt' | 'model' | 'maxTokens' | 'temperature'>;

/** How one attempt failed, as the worker saw it. */
export interface AttemptFailure {
  message: string;
  retryable: boolean;
  /** 1-based number of this attempt, and how many the generation may have. */
  attempt: number;
  maxAttempts: number;
  /** Tokens of the text the attempt produced before it failed, if any. */
  producedTokens?: number;
}

/** Where a failed attempt left the record: failed for good, queued again, or untouched. */
export type AttemptFailureOutcome = 'failed' | 'requeued' | 'skipped';

/** A page position: rows strictly past this (created_at, id) pair. */
export type ListPosition = Pick<Generation, 'createdAt' | 'id'>;

/**
 * How a claim ended: an attempt to run; the retry budget or the key's daily tokens spent (the
 * record failed); or nothing to do.
 */
export type Claim =
  | { outcome: 'claimed'; attempt: number; startedAt: Date; generation: ClaimedGeneration }
  | { outcome: 'exhausted' }
  | { outcome: 'over_budget' }
  | { outcome: 'finished' };

/** What a claim checks, and the errors a record gets when it cannot run. */
export interface ClaimBudget {
  maxAttempts: number;
  exhausted: string;
  /** DAILY_TOKEN_BUDGET: the tokens of a key without a budget of its own (0: none). */
  dailyTokens: number;
  overBudget: string;
}

/** One key's usage on one UTC day (`YYYY-MM-DD`). */
export interface UsageDay {
  date: string;
  generations: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  promptTokens: number;
  completionTokens: number;
}

/** A reconciler candidate; `hasCallback` when its end must queue a webhook delivery. */
export type UnfinishedGeneration = Pick<
  Generation,
  'id' | 'status' | 'attempts' | 'traceparent'
> & {
  hasCallback: boolean;
};

/** A finished generation whose webhook is still pending (the outbox), for the reconciler. */
export type PendingDelivery = Pick<Generation, 'id' | 'callbackAttempts'>;

/** A create and the quota it is made within. */
interface QuotaCreate {
  input: NewGeneration;
  quota: KeyQuota;
}

const settled = <T>(value: T): PromiseFulfilledResult<T> => ({ status: 'fulfilled', value });

/**
 * A `KeyedBatches` runner made of two statements: `one` for a lone item, `many` for several (one
 * result per item, in order). A batch PostgreSQL refuses for one item's data runs again item by
 * item, so that item fails alone; PostgreSQL away fails them all.
 */
function oneOrMany<I, O>(
  one: (item: I) => Promise<O>,
  many: (items: I[]) => Promise<O[]>,
): (items: I[]) => Promise<Array<PromiseSettledResult<O>>> {
  return async (items) => {
    if (items.length === 1) return [settled(await one(items[0]))];
    try {
      return (await many(items)).map(settled);
    } catch (error) {
      if (isDependencyUnavailable(error)) throw error;
      const results: Array<PromiseSettledResult<O>> = [];
      for (const item of items) {
        results.push(
          await one(item).then(settled, (reason: unknown) => ({
            status: 'rejected' as const,
            reason,
          })),
        );
      }
      return results;
    }
  };
}

/**
 * What a create stores of its input beyond owner and key, in the order of every create
 * statement's parameters (`$3`…`$11`; one array each in the batch function).
 */
const CREATE_FIELDS = [
  'prompt',
  'model',
  'maxTokens',
  'temperature',
  'requestId',
  'idempotencyKey',
  'requestHash',
  'traceparent',
  'callbackUrl',
] as const satisfies ReadonlyArray<keyof NewGeneration>;

/** A create's parameters `$1`…`$11`: owner, key, then CREATE_FIELDS. */
function createParams(input: NewGeneration): unknown[] {
  return [input.ownerId, input.apiKeyId, ...CREATE_FIELDS.map((field) => input[field])];
}

/** Creates of one key sent to PostgreSQL in one call, at most. */
const CREATE_BATCH_MAX = 64;
/** Reads in one statement at the most. */
const READ_BATCH_MAX = 64;

interface OwnedRead {
  ownerId: string;
  id: string;
}

/** Rows deleted per statement by retention. */
const DELETE_BATCH = 1000;

/**
 * Rows per key and day in `api_key_usage`: each write picks one at random, so concurrent
 * transitions of one key rarely wait for each other's row lock.
 */
const USAGE_SHARDS = 16;

/** The UTC day of the transaction, the one a usage row counts on. */
const TODAY = `(now() AT TIME ZONE 'UTC')::date`;

/**
 * The prompt's tokens when no provider reported them, counted the way the local provider
 * counts (words separated by white space).
 */
const PROMPT_ESTIMATE = `COALESCE(array_length(regexp_split_to_array(
  NULLIF(regexp_replace(prompt, '^\\s+|\\s+$', '', 'g'), ''), '\\s+'), 1), 0)`;

/** The key's generations queued or running now (the partial index answers it). */
function activeOf(key: string): string {
  return `(SELECT count(*) FROM generations
            WHERE api_key_id = ${key}::uuid AND status IN ('queued', 'running'))`;
}

/** The tokens the key's attempts recorded today. */
function tokensTodayOf(key: string): string {
  return `COALESCE((SELECT sum(prompt_tokens + completion_tokens) FROM api_key_usage
                     WHERE api_key_id = ${key}::uuid AND day = ${TODAY}), 0)`;
}

/** What one transition adds to its key's usage row: SQL over the `changed` rows' columns. */
interface UsageDelta {
  day?: string;
  generations?: string;
  succeeded?: string;
  failed?: string;
  cancelled?: string;
  promptTokens?: string;
  completionTokens?: string;
}

const USAGE_COUNTERS = [
  ['generations', 'generations'],
  ['succeeded', 'succeeded'],
  ['failed', 'failed'],
  ['cancelled', 'cancelled'],
  ['promptTokens', 'prompt_tokens'],
  ['completionTokens', 'completion_tokens'],
] as const;

/**
 * A statement that makes one change to `generations` (the `changed` CTE, returning at least
 * `api_key_id` and the columns `delta` reads) and counts it in `api_key_usage` in the same
 * statement, so the usage never drifts from the records. Rows of no key count nowhere, and a
 * change that adds nothing (most claims) writes no usage row: one key's row is hot.
 */
function withUsage(
  change: string,
  delta: UsageDelta,
  select = 'SELECT * FROM changed',
  before?: string,
): string {
  const columns = USAGE_COUNTERS.map(([, column]) => column);
  const values = USAGE_COUNTERS.map(([field]) => delta[field] ?? '0');
  return `WITH ${before ? `${before},` : ''} changed AS (${change}),
    counted AS (
      INSERT INTO api_key_usage AS u (api_key_id, day, shard, ${columns.join(', ')})
      SELECT api_key_id, ${delta.day ?? TODAY}, floor(random() * ${USAGE_SHARDS}), ${values.join(', ')}
        FROM changed
       WHERE api_key_id IS NOT NULL AND (${values.map((value) => `(${value}) <> 0`).join(' OR ')})
      ON CONFLICT (api_key_id, day, shard) DO UPDATE SET
        ${columns.map((column) => `${column} = u.${column} + EXCLUDED.${column}`).join(', ')})
    ${select}`;
}

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
 *     │  ▲              │ ├──failAttempt──▶ failed (final) / queued (retry)
 *     │  └─requeueOrphan┘ │
 *     └──cancel──▶ cancelled ◀──cancel──┘
 *   and ──▶ failed by a claim without budget or attempts, and by settleFailedJob
 *
 * A running record carries its attempt's number; every write an attempt makes afterwards is
 * guarded by it, so an old attempt (its worker timed out or lost the job's lock) changes
 * nothing once a newer one has started.
 *
 * The three statements every generation runs — the create within quota, the claim, the success
 * — are PL/pgSQL functions (migration 1765238400000), called here: PostgreSQL parses and plans
 * an unnamed statement on every call, and for those CTEs that was over half their cost; a
 * function's plans are cached per server connection, whoever pools the connections.
 */
@Injectable()
export class GenerationStore {
  private selectList?: string;
  /** A key's creates while one of them runs: they go to PostgreSQL together, next. */
  private readonly creates = new KeyedBatches<QuotaCreate, Generation | null>(
    oneOrMany(
      (create) => this.createOneWithinQuota(create),
      (creates) => this.createManyWithinQuota(creates),
    ),
    CREATE_BATCH_MAX,
  );
  /** An owner's reads while one of them runs: the next statement serves them together. */
  private readonly reads = new KeyedBatches<OwnedRead, Generation | null>(
    oneOrMany(
      (read) => this.readOne(read),
      (reads) => this.readMany(reads),
    ),
    READ_BATCH_MAX,
  );

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Every column, aliased to its property: rows come back as `Generation`s, unmapped. */
  private get columns(): string {
    this.selectList ??= this.dataSource
      .getMetadata(Generation)
      .columns.map((column) => `${column.databaseName} AS "${column.propertyName}"`)
      .join(', ');
    return this.selectList;
  }

  /**
   * Inserts a queued generation, counted on its key's day. With a key and a quota, the key's
   * creates take turns (a transaction-scoped advisory lock: exact across replicas, and safe
   * behind a transaction pooler), so N parallel requests at the edge of the cap admit exactly
   * up to it; the active count is the key's queued and running records themselves, so a slot is
   * free the moment its generation ends, however it ends. The creates of a key that arrive while
   * one of its calls runs wait for it and go together, in arrival order, in the next call: under
   * load the key's turns cost one commit per batch instead of one per request.
   */
  async createQueued(input: NewGeneration, quota?: KeyQuota): Promise<CreateResult> {
    const params = createParams(input);
    const insert = (limits: string, before?: string) =>
      withUsage(
        `INSERT INTO generations
           (owner_id, api_key_id, status, prompt, model, max_tokens, temperature, request_id,
            idempotency_key, request_hash, traceparent, callback_url, callback_state)
         SELECT $1::varchar, $2::uuid, 'queued', $3::text, $4::varchar, $5::int, $6::real,
                $7::varchar, $8::varchar, $9::char(64), $10::varchar, $11::varchar,
                CASE WHEN $11::varchar IS NULL THEN NULL ELSE 'pending' END ${limits}
         ON CONFLICT DO NOTHING
         RETURNING *`,
        { generations: '1' },
        `SELECT ${this.columns} FROM changed`,
        before,
      );
    if (!quota || input.apiKeyId === null) {
      const { rows } = await this.execute<Generation>(insert(''), params);
      return rows[0] ? { outcome: 'created', generation: rows[0] } : { outcome: 'duplicate' };
    }
    const key = [input.apiKeyId, input.ownerId, quota.maxActive, quota.dailyTokens].join(':');
    const generation = await this.creates.submit(key, { input, quota });
    if (generation) return { outcome: 'created', generation };
    // Why not (read after the fact, for the answer only): a quota, or the Idempotency-Key.
    const {
      rows: [state],
    } = await this.execute<{ active: number; used: number }>(
      `SELECT ${activeOf('$1')}::int AS active, ${tokensTodayOf('$1')}::float8 AS used`,
      [input.apiKeyId],
    );
    if (quota.dailyTokens > 0 && state.used >= quota.dailyTokens)
      return { outcome: 'daily_tokens', used: state.used };
    if (state.active >= quota.maxActive || input.idempotencyKey === null)
      return { outcome: 'max_active', active: Math.max(state.active, quota.maxActive) };
    return { outcome: 'duplicate' };
  }

  /**
   * Creates of one key (and quota) within its quota, in order: the new generation of each, or
   * null for one not created. One call to PostgreSQL for all of them — the key's turn (an
   * advisory lock held to the commit), a count that sees every row committed before it, the
   * inserts — with no round trip to the client while the lock is held (migrations 1765238400000
   * and 1765584000000). A lone create is `createOneWithinQuota`; a refused batch runs again one
   * create at a time (`oneOrMany`).
   */
  private async createManyWithinQuota(creates: QuotaCreate[]): Promise<Array<Generation | null>> {
    const { input: first, quota } = creates[0];
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generation_create_batch_within_quota($1::varchar, $2::uuid,
         $3::int, $4::int, $5::text[], $6::varchar[], $7::int[], $8::real[], $9::varchar[],
         $10::varchar[], $11::char(64)[], $12::varchar[], $13::varchar[])
         WITH ORDINALITY AS created ORDER BY created.ordinality`,
      [
        first.ownerId,
        first.apiKeyId,
        quota.maxActive,
        quota.dailyTokens,
        ...CREATE_FIELDS.map((field) => creates.map(({ input }) => input[field])),
      ],
    );
    return rows.map((row) => (row.id === null ? null : row));
  }

  private async createOneWithinQuota({ input, quota }: QuotaCreate): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generation_create_within_quota($1::varchar, $2::uuid,
         $3::text, $4::varchar, $5::int, $6::real, $7::varchar, $8::varchar, $9::char(64),
         $12::int, $13::int, $10::varchar, $11::varchar)`,
      [...createParams(input), quota.maxActive, quota.dailyTokens],
    );
    return rows[0] ?? null;
  }

  /** Removes a generation that never reached the queue, so no record waits for nothing. */
  async discardUnqueued(id: string): Promise<void> {
    await this.execute(
      withUsage(
        `DELETE FROM generations WHERE id = $1 AND status = 'queued' RETURNING api_key_id, created_at`,
        { day: `(created_at AT TIME ZONE 'UTC')::date`, generations: '-1' },
      ),
      [id],
    );
  }

  /**
   * One of the owner's generations, or null. An owner's reads take turns on this replica: the
   * first runs at once, alone; those that arrive while it runs go together in the next statement,
   * one row per read. Under load a key's reads cost one round trip and one execution per batch
   * instead of one each, and one key's reads hold one pooled connection at a time.
   */
  findOwned(ownerId: string, id: string): Promise<Generation | null> {
    return this.reads.submit(ownerId, { ownerId, id });
  }

  private async readOne({ ownerId, id }: OwnedRead): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generations WHERE id = $1 AND owner_id = $2`,
      [id, ownerId],
    );
    return rows[0] ?? null;
  }

  /** One owner's reads in one statement: each row matched back to its read by position. */
  private async readMany(reads: OwnedRead[]): Promise<Array<Generation | null>> {
    const { rows } = await this.execute<Generation & { position: string }>(
      `SELECT k.position, ${this.columns}
         FROM unnest($2::uuid[]) WITH ORDINALITY AS k(read_id, position)
         JOIN generations ON id = k.read_id AND owner_id = $1`,
      [reads[0].ownerId, reads.map((read) => read.id)],
    );
    const found = new Array<Generation | null>(reads.length).fill(null);
    for (const { position, ...generation } of rows) found[Number(position) - 1] = generation;
    return found;
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

  /**
   * queued or running → cancelled; null when the generation is not the owner's or has already
   * ended. `wasRunning` tells the caller that a worker is still on it: its later writes are
   * guarded by `status = 'running'` and change nothing, and it aborts the call when it notices
   * (`cancelledAmong`). A running attempt's prompt counts on the key's day, estimated: the
   * provider had it.
   */
  async cancel(
    ownerId: string,
    id: string,
  ): Promise<{ generation: Generation; wasRunning: boolean } | null> {
    const { rows } = await this.execute<Generation & { wasRunning: boolean }>(
      withUsage(
        `UPDATE generations g SET status = 'cancelled', completed_at = now()
           FROM (SELECT id, status AS was FROM generations
                  WHERE id = $1 AND owner_id = $2 AND status IN ('queued', 'running')
                  FOR UPDATE) old
          WHERE g.id = old.id
        RETURNING g.*, old.was`,
        {
          cancelled: '1',
          promptTokens: `CASE WHEN was = 'running' THEN ${PROMPT_ESTIMATE} ELSE 0 END`,
        },
        `SELECT ${this.columns}, was = 'running' AS "wasRunning" FROM changed`,
      ),
      [id, ownerId],
    );
    if (!rows[0]) return null;
    const { wasRunning, ...generation } = rows[0];
    return { generation, wasRunning };
  }

  /** Which of `ids` have been cancelled: a worker asks about the generations it is running. */
  async cancelledAmong(ids: string[]): Promise<string[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.execute<{ id: string }>(
      `SELECT id FROM generations WHERE id = ANY($1::uuid[]) AND status = 'cancelled'`,
      [ids],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Starts the next attempt: queued (or running, when a job runs again after its worker died)
   * → running with `attempts + 1`, the attempt's number returned for every later write to
   * carry. The retry budget is the record's, across re-created jobs: with none left the record
   * fails now (`exhausted`). So does a generation whose key has spent the day's tokens
   * (`over_budget`: the key's own budget, else `dailyTokens`): only attempts already running
   * can overshoot a budget. `finished` when it is finished, cancelled or gone and nothing must
   * run.
   */
  async claim(id: string, budget: ClaimBudget): Promise<Claim> {
    // `generation_claim` (migration 1765238400000): the record locked, the key's budget read,
    // queued/running → running (or failed, with no attempt or no tokens left), usage counted
    const { rows } = await this.execute<
      ClaimedGeneration & {
        status: GenerationStatus;
        attempts: number;
        over: boolean;
        startedAt: Date;
      }
    >(
      `SELECT status, attempts, prompt, model, "maxTokens", temperature, over, "startedAt"
         FROM generation_claim($1::uuid, $2::int, $3::text, $4::int, $5::text)`,
      [id, budget.maxAttempts, budget.exhausted, budget.dailyTokens, budget.overBudget],
    );
    const row = rows[0];
    if (!row) return { outcome: 'finished' };
    if (row.status === 'failed') return { outcome: row.over ? 'over_budget' : 'exhausted' };
    const { attempts, prompt, model, maxTokens, temperature, startedAt } = row;
    return {
      outcome: 'claimed',
      attempt: attempts,
      startedAt,
      generation: { prompt, model, maxTokens, temperature },
    };
  }

  /**
   * running → succeeded, if `attempt` is still the current one; false when it is not. The
   * tokens go on the record and on the key's day; a prompt the provider did not count is
   * estimated.
   */
  async succeed(id: string, attempt: number, output: AttemptOutput): Promise<boolean> {
    // `generation_succeed` (migration 1765238400000), counted on the key's day
    const { rows } = await this.execute<{ done: boolean }>(
      'SELECT generation_succeed($1::uuid, $2::int, $3::text, $4::int, $5::int) AS done',
      [id, attempt, output.text, output.promptTokens, output.completionTokens],
    );
    return rows[0].done;
  }

  /**
   * The current attempt failed: running → failed when the failure is final, else → queued for
   * the next one. An attempt that is no longer the current one changes nothing (`skipped`).
   */
  async failAttempt(id: string, failure: AttemptFailure): Promise<AttemptFailureOutcome> {
    const final = isFinal(failure);
    const { affected } = await this.execute(
      withUsage(
        final
          ? `UPDATE generations SET status = 'failed', error = $3, completed_at = now()
              WHERE id = $1 AND status = 'running' AND attempts = $2 RETURNING api_key_id, prompt`
          : `UPDATE generations SET status = 'queued', error = $3
              WHERE id = $1 AND status = 'running' AND attempts = $2 RETURNING api_key_id, prompt`,
        // the attempt ended without a provider's count: its prompt and what it produced
        { failed: final ? '1' : '0', promptTokens: PROMPT_ESTIMATE, completionTokens: '$4::int' },
      ),
      [id, failure.attempt, failure.message, failure.producedTokens ?? 0],
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
    // A running record's attempt ended here (its prompt counts, estimated); a queued one's
    // last attempt was counted when it ended.
    const running = await this.execute(
      withUsage(
        `UPDATE generations SET status = 'failed', error = $2, completed_at = now()
          WHERE id = $1 AND status = 'running' RETURNING api_key_id, prompt`,
        { failed: '1', promptTokens: PROMPT_ESTIMATE },
      ),
      [id, job.message],
    );
    if (running.affected > 0) return 'failed';
    const exhausted = await this.execute(
      withUsage(
        `UPDATE generations SET status = 'failed', error = $2, completed_at = now()
          WHERE id = $1 AND status = 'queued' AND attempts >= $3 RETURNING api_key_id`,
        { failed: '1' },
      ),
      [id, job.message, job.maxAttempts],
    );
    if (exhausted.affected > 0) return 'failed';
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
      `SELECT id, status, attempts, traceparent, callback_state IS NOT NULL AS "hasCallback"
         FROM generations
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
    // the attempt died with its worker: its prompt counts, estimated
    await this.execute(
      withUsage(
        `UPDATE generations SET status = 'queued'
          WHERE id = $1 AND status = 'running' AND attempts = $2 RETURNING api_key_id, prompt`,
        { promptTokens: PROMPT_ESTIMATE },
      ),
      [id, attempts],
    );
  }

  /** A finished generation whose webhook is still to be delivered; null when there is none. */
  async findPendingDelivery(id: string): Promise<Generation | null> {
    const { rows } = await this.execute<Generation>(
      `SELECT ${this.columns} FROM generations
        WHERE id = $1 AND callback_state = 'pending' AND status = ANY($2)`,
      [id, FINISHED_STATUSES],
    );
    return rows[0] ?? null;
  }

  /**
   * One delivery attempt's result, counted once: `attempt` must be the next one and the
   * delivery still pending (two workers running the same job count it once). False when not.
   */
  async recordDeliveryAttempt(
    id: string,
    attempt: number,
    state: CallbackState,
    lastStatus: number | null,
  ): Promise<boolean> {
    const { affected } = await this.execute(
      `UPDATE generations
          SET callback_attempts = $2, callback_state = $3, callback_last_status = $4
        WHERE id = $1 AND callback_state = 'pending' AND callback_attempts = $2 - 1`,
      [id, attempt, state, lastStatus],
    );
    return affected > 0;
  }

  /** pending → failed without an attempt (the receiver is refused, or no attempt is left). */
  async abandonDelivery(id: string): Promise<void> {
    await this.execute(
      `UPDATE generations SET callback_state = 'failed'
        WHERE id = $1 AND callback_state = 'pending'`,
      [id],
    );
  }

  /**
   * The outbox: finished generations completed before `cutoff` whose webhook is still pending,
   * oldest first, `limit` of them after `after` (the partial index answers it).
   */
  async findPendingDeliveries(
    cutoff: Date,
    limit: number,
    after?: Pick<Generation, 'id'>,
  ): Promise<PendingDelivery[]> {
    const { rows } = await this.execute<PendingDelivery>(
      `SELECT id, callback_attempts AS "callbackAttempts" FROM generations
        WHERE callback_state = 'pending' AND status IN ('succeeded', 'failed', 'cancelled')
          AND completed_at < $1
          AND ($3::uuid IS NULL OR (completed_at, id) > (
                (SELECT completed_at FROM generations WHERE id = $3), $3::uuid))
        ORDER BY completed_at ASC, id ASC LIMIT $2`,
      [cutoff, limit, after?.id ?? null],
    );
    return rows;
  }

  /** The key's usage of every UTC day from `from` to `to` (both included), oldest first. */
  async usage(apiKeyId: string, from: string, to: string): Promise<UsageDay[]> {
    const { rows } = await this.execute<UsageDay>(
      `SELECT to_char(d.day, 'YYYY-MM-DD') AS date,
              COALESCE(u.generations, 0)::int AS generations,
              COALESCE(u.succeeded, 0)::int AS succeeded, COALESCE(u.failed, 0)::int AS failed,
              COALESCE(u.cancelled, 0)::int AS cancelled,
              COALESCE(u.prompt_tokens, 0)::float8 AS "promptTokens",
              COALESCE(u.completion_tokens, 0)::float8 AS "completionTokens"
         FROM generate_series($2::date, $3::date, interval '1 day') AS d(day)
         LEFT JOIN (
           SELECT day, sum(generations) AS generations, sum(succeeded) AS succeeded,
                  sum(failed) AS failed, sum(cancelled) AS cancelled,
                  sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens
             FROM api_key_usage
            WHERE api_key_id = $1 AND day BETWEEN $2::date AND $3::date
            GROUP BY day) u ON u.day = d.day
        ORDER BY d.day`,
      [apiKeyId, from, to],
    );
    return rows;
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
