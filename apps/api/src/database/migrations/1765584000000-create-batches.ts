import { MigrationInterface, QueryRunner } from 'typeorm';
import { COUNT_USAGE, TODAY } from './1765238400000-hot-path-functions';

const SIGNATURE = `varchar, uuid, int, int, text[], varchar[], int[], real[], varchar[], varchar[],
  char(64)[], varchar[], varchar[]`;

/**
 * `generation_create_batch_within_quota`: the creates of one key that arrived while its
 * previous one ran, in one transaction — the key's turn taken once (the same advisory lock as
 * `generation_create_within_quota`), the active count read once, each create admitted in order
 * while a slot is left, one usage row written for all. One row per item comes back, in order:
 * the new generation, or a row of NULLs for one not created (quota, or Idempotency-Key taken).
 * The per-key creates queue behind one commit each instead of one commit per request.
 */
export class CreateBatches1765584000000 implements MigrationInterface {
  name = 'CreateBatches1765584000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "generation_create_batch_within_quota"(
        p_owner varchar, p_key uuid, p_max_active int, p_daily_tokens int,
        p_prompts text[], p_models varchar[], p_max_tokens int[], p_temperatures real[],
        p_request_ids varchar[], p_idempotency_keys varchar[], p_request_hashes char(64)[],
        p_traceparents varchar[], p_callback_urls varchar[])
      RETURNS SETOF generations LANGUAGE plpgsql VOLATILE AS $$
      DECLARE
        created generations;
        active int;
        made int := 0;
        over_budget boolean;
      BEGIN
        -- the key's turn, held to the commit: its creates count one after another
        PERFORM pg_advisory_xact_lock(17, hashtext(p_key::text));
        SELECT count(*) INTO active FROM generations
         WHERE api_key_id = p_key AND status IN ('queued', 'running');
        over_budget := p_daily_tokens > 0 AND COALESCE((SELECT sum(prompt_tokens + completion_tokens)
             FROM api_key_usage WHERE api_key_id = p_key AND day = ${TODAY}), 0) >= p_daily_tokens;
        FOR i IN 1 .. coalesce(cardinality(p_prompts), 0) LOOP
          created := NULL;
          IF NOT over_budget AND active < p_max_active THEN
            INSERT INTO generations (owner_id, api_key_id, status, prompt, model, max_tokens,
                                     temperature, request_id, idempotency_key, request_hash,
                                     traceparent, callback_url, callback_state)
            VALUES (p_owner, p_key, 'queued', p_prompts[i], p_models[i], p_max_tokens[i],
                    p_temperatures[i], p_request_ids[i], p_idempotency_keys[i],
                    p_request_hashes[i], p_traceparents[i], p_callback_urls[i],
                    CASE WHEN p_callback_urls[i] IS NULL THEN NULL ELSE 'pending' END)
            ON CONFLICT DO NOTHING
            RETURNING * INTO created;
            IF created.id IS NOT NULL THEN
              active := active + 1;
              made := made + 1;
            END IF;
          END IF;
          RETURN NEXT created;
        END LOOP;
        IF made > 0 THEN
          INSERT INTO api_key_usage AS u (api_key_id, day, shard, generations)
          VALUES (p_key, ${TODAY}, floor(random() * 16), made)
          ${COUNT_USAGE};
        END IF;
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "generation_create_batch_within_quota"(${SIGNATURE})`);
  }
}
