import { MigrationInterface, QueryRunner } from 'typeorm';
import { ActiveGenerationsFunction1765152000000 } from './1765152000000-active-generations-function';

/** The UTC day a usage row counts on, and the table's upsert of one shard of it. */
export const TODAY = `(now() AT TIME ZONE 'UTC')::date`;
export const COUNT_USAGE = `ON CONFLICT (api_key_id, day, shard) DO UPDATE SET
  generations = u.generations + EXCLUDED.generations, succeeded = u.succeeded + EXCLUDED.succeeded,
  failed = u.failed + EXCLUDED.failed, cancelled = u.cancelled + EXCLUDED.cancelled,
  prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
  completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens`;
/** A prompt's tokens when no provider counted them: its words, as the local provider counts. */
const PROMPT_ESTIMATE = (prompt: string) => `COALESCE(array_length(regexp_split_to_array(
  NULLIF(regexp_replace(${prompt}, '^\\s+|\\s+$', '', 'g'), ''), '\\s+'), 1), 0)`;

/**
 * `generation_create_within_quota` as this migration creates it; with `traceparent`, as
 * migration 1765324800000 does (one more parameter, stored beside the request id); with
 * `callback` too, as migration 1765497600000 does (the webhook's URL, its delivery pending).
 */
export function createWithinQuotaFunction({ traceparent = false, callback = false } = {}): string {
  const param =
    (traceparent ? ', p_traceparent varchar' : '') + (callback ? ', p_callback_url varchar' : '');
  const column =
    (traceparent ? ', traceparent' : '') + (callback ? ', callback_url, callback_state' : '');
  const value =
    (traceparent ? ', p_traceparent' : '') +
    (callback
      ? `, p_callback_url, CASE WHEN p_callback_url IS NULL THEN NULL ELSE 'pending' END`
      : '');
  return `
      CREATE FUNCTION "generation_create_within_quota"(
        p_owner varchar, p_key uuid, p_prompt text, p_model varchar, p_max_tokens int,
        p_temperature real, p_request_id varchar, p_idempotency_key varchar,
        p_request_hash char(64), p_max_active int, p_daily_tokens int${param})
      RETURNS SETOF generations LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        created generations;
      BEGIN
        -- the key's turn, held to the commit: its creates count one after another
        PERFORM pg_advisory_xact_lock(17, hashtext(p_key::text));
        IF (SELECT count(*) FROM generations
             WHERE api_key_id = p_key AND status IN ('queued', 'running')) >= p_max_active THEN
          RETURN;
        END IF;
        IF p_daily_tokens > 0 AND COALESCE((SELECT sum(prompt_tokens + completion_tokens)
             FROM api_key_usage WHERE api_key_id = p_key AND day = ${TODAY}), 0) >= p_daily_tokens THEN
          RETURN;
        END IF;
        INSERT INTO generations (owner_id, api_key_id, status, prompt, model, max_tokens,
                                 temperature, request_id, idempotency_key, request_hash${column})
        VALUES (p_owner, p_key, 'queued', p_prompt, p_model, p_max_tokens, p_temperature,
                p_request_id, p_idempotency_key, p_request_hash${value})
        ON CONFLICT DO NOTHING
        RETURNING * INTO created;
        IF created.id IS NULL THEN
          RETURN;
        END IF;
        INSERT INTO api_key_usage AS u (api_key_id, day, shard, generations)
        VALUES (p_key, ${TODAY}, floor(random() * 16), 1)
        ${COUNT_USAGE};
        RETURN NEXT created;
      END
      $$`;
}

/**
 * `generation_claim` as this migration creates it; with `startedAt`, as migration 1765411200000
 * does (the record's `started_at` returned too, for the running status event); with
 * `leaseCommit` too, as migration 1765670400000 does (a claim that only starts an attempt
 * commits without waiting for its WAL flush).
 */
export function claimFunction({ startedAt = false, leaseCommit = false } = {}): string {
  const startedAtColumn = startedAt ? ', "startedAt" timestamptz' : '';
  const startedAtValue = startedAt ? ', c.started_at' : '';
  // the loop sees what the claim did: queued → running, nothing else written, is a lease
  const [begin, end] = leaseCommit
    ? [
        `DECLARE
        claimed record;
      BEGIN
        FOR claimed IN`,
        `, c.was FROM changed c
        LOOP
          IF claimed.status = 'running' AND claimed.was = 'queued' THEN
            PERFORM set_config('synchronous_commit', 'off', true);
          END IF;
          RETURN QUERY SELECT claimed.status, claimed.attempts, claimed.prompt, claimed.model,
            claimed.max_tokens, claimed.temperature, claimed.over${startedAt ? ', claimed.started_at' : ''};
        END LOOP;`,
      ]
    : [
        `BEGIN
        RETURN QUERY`,
        `
          FROM changed c;`,
      ];
  return `
      CREATE FUNCTION "generation_claim"(
        p_id uuid, p_max_attempts int, p_exhausted text, p_daily_tokens int, p_over_budget text)
      RETURNS TABLE (status varchar, attempts int, prompt text, model varchar,
                     "maxTokens" int, temperature real, over boolean${startedAtColumn})
      LANGUAGE plpgsql VOLATILE AS $$
      #variable_conflict use_column
      ${begin}
        WITH previous AS (
          SELECT g.id, g.status,
                 g.api_key_id IS NOT NULL AND b.tokens > 0
                   AND COALESCE((SELECT sum(d.prompt_tokens + d.completion_tokens)
                                   FROM api_key_usage d
                                  WHERE d.api_key_id = g.api_key_id AND d.day = ${TODAY}), 0)
                       >= b.tokens AS over
            FROM generations g
            CROSS JOIN LATERAL (
              SELECT COALESCE((SELECT k.daily_token_budget FROM api_keys k WHERE k.id = g.api_key_id),
                              p_daily_tokens) AS tokens) b
           WHERE g.id = p_id AND g.status IN ('queued', 'running')
             FOR UPDATE OF g),
        changed AS (
          UPDATE generations g
             SET status = CASE WHEN g.attempts < p_max_attempts AND NOT previous.over
                               THEN 'running' ELSE 'failed' END,
                 attempts = CASE WHEN g.attempts < p_max_attempts AND NOT previous.over
                                 THEN g.attempts + 1 ELSE g.attempts END,
                 error = CASE WHEN g.attempts < p_max_attempts AND NOT previous.over THEN NULL
                              WHEN previous.over THEN p_over_budget
                              ELSE COALESCE(g.error, p_exhausted) END,
                 completed_at = CASE WHEN g.attempts < p_max_attempts AND NOT previous.over
                                     THEN NULL ELSE now() END,
                 started_at = COALESCE(g.started_at, now())
            FROM previous WHERE g.id = previous.id
          RETURNING g.api_key_id, g.status, g.attempts, g.prompt, g.model, g.max_tokens,
                    g.temperature, previous.status AS was, previous.over, g.started_at),
        -- a claim that cannot run ends the generation; a running record's attempt died with
        -- its worker (its prompt counted); most claims add nothing and write no usage row
        counted AS (
          INSERT INTO api_key_usage AS u (api_key_id, day, shard, failed, prompt_tokens)
          SELECT c.api_key_id, ${TODAY}, floor(random() * 16),
                 CASE WHEN c.status = 'failed' THEN 1 ELSE 0 END,
                 CASE WHEN c.was = 'running' THEN ${PROMPT_ESTIMATE('c.prompt')} ELSE 0 END
            FROM changed c
           WHERE c.api_key_id IS NOT NULL
             AND (c.status = 'failed' OR (c.was = 'running' AND ${PROMPT_ESTIMATE('c.prompt')} <> 0))
          ${COUNT_USAGE})
        SELECT c.status, c.attempts, c.prompt, c.model, c.max_tokens, c.temperature, c.over${startedAtValue}${end}
      END
      $$`;
}

/**
 * The three statements every generation runs — its create within its key's quotas, its claim by
 * the worker, its success — as PL/pgSQL functions. The client sends each as an unnamed statement
 * (PgBouncer in transaction mode cannot keep named ones), which PostgreSQL parses and plans on
 * every call: for these CTEs that was more than half of their cost. A function's statements are
 * prepared once per server connection and their plans cached, whoever pools the connections.
 * Each function is the statement it replaces, with the same locks, snapshots and usage counting.
 *
 * The create also replaces `active_generations`: inside a PL/pgSQL function under READ
 * COMMITTED every statement takes its own snapshot, so the count that follows the key's
 * advisory lock sees every row committed by the lock's previous holder — the cap is exact.
 */
export class HotPathFunctions1765238400000 implements MigrationInterface {
  name = 'HotPathFunctions1765238400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(createWithinQuotaFunction());
    await queryRunner.query(claimFunction());
    await queryRunner.query(`
      CREATE FUNCTION "generation_succeed"(
        p_id uuid, p_attempt int, p_text text, p_prompt_tokens int, p_completion_tokens int)
      RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        done boolean;
      BEGIN
        WITH changed AS (
          UPDATE generations
             SET status = 'succeeded', result = p_text,
                 prompt_tokens = COALESCE(p_prompt_tokens, ${PROMPT_ESTIMATE('prompt')}),
                 completion_tokens = p_completion_tokens, completed_at = now()
           WHERE id = p_id AND status = 'running' AND attempts = p_attempt
          RETURNING api_key_id, prompt_tokens, completion_tokens),
        counted AS (
          INSERT INTO api_key_usage AS u
                 (api_key_id, day, shard, succeeded, prompt_tokens, completion_tokens)
          SELECT api_key_id, ${TODAY}, floor(random() * 16), 1, prompt_tokens, completion_tokens
            FROM changed WHERE api_key_id IS NOT NULL
          ${COUNT_USAGE})
        SELECT count(*) > 0 INTO done FROM changed;
        RETURN done;
      END
      $$`);
    await queryRunner.query(`DROP FUNCTION "active_generations"(uuid, int)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await new ActiveGenerationsFunction1765152000000().up(queryRunner);
    await queryRunner.query(`DROP FUNCTION "generation_succeed"(uuid, int, text, int, int)`);
    await queryRunner.query(`DROP FUNCTION "generation_claim"(uuid, int, text, int, text)`);
    await queryRunner.query(`
      DROP FUNCTION "generation_create_within_quota"(
        varchar, uuid, text, varchar, int, real, varchar, varchar, char(64), int, int)`);
  }
}
