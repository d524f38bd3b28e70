import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `active_generations(key, turn)`: a key's queued and running generations, counted with a
 * snapshot of its own. PL/pgSQL functions are VOLATILE and never inlined, so under READ
 * COMMITTED the count sees every row committed before the call, not only those the calling
 * statement's snapshot saw: a create that counts after taking its key's advisory lock (the
 * `turn` argument comes from the lock, so the count cannot run before it) sees the rows of the
 * lock's previous holder, and the active cap is exact in one statement.
 */
export class ActiveGenerationsFunction1765152000000 implements MigrationInterface {
  name = 'ActiveGenerationsFunction1765152000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION "active_generations"(key uuid, turn int) RETURNS bigint
      LANGUAGE plpgsql VOLATILE AS $$
      BEGIN
        RETURN (SELECT count(*) FROM generations
                 WHERE api_key_id = key AND status IN ('queued', 'running'));
      END
      $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "active_generations"(uuid, int)`);
  }
}
