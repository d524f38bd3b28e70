import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-key usage in shards: a busy key's transitions (creates in the api, claims and results in
 * every worker) write one of USAGE_SHARDS rows of its day instead of all waiting for one row's
 * lock. A day's usage is the sum of its shards; existing rows become shard 0.
 */
export class UsageShards1765065600000 implements MigrationInterface {
  name = 'UsageShards1765065600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "api_key_usage" ADD COLUMN "shard" smallint NOT NULL DEFAULT 0`,
    );
    await queryRunner.query(`ALTER TABLE "api_key_usage" DROP CONSTRAINT "PK_api_key_usage"`);
    await queryRunner.query(
      `ALTER TABLE "api_key_usage" ADD CONSTRAINT "PK_api_key_usage" PRIMARY KEY ("api_key_id", "day", "shard")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TEMP TABLE "api_key_usage_days" AS
        SELECT "api_key_id", "day", sum("generations")::int AS "generations",
               sum("succeeded")::int AS "succeeded", sum("failed")::int AS "failed",
               sum("cancelled")::int AS "cancelled", sum("prompt_tokens") AS "prompt_tokens",
               sum("completion_tokens") AS "completion_tokens"
          FROM "api_key_usage" GROUP BY 1, 2`);
    await queryRunner.query(`DELETE FROM "api_key_usage"`);
    await queryRunner.query(`ALTER TABLE "api_key_usage" DROP CONSTRAINT "PK_api_key_usage"`);
    await queryRunner.query(`ALTER TABLE "api_key_usage" DROP COLUMN "shard"`);
    await queryRunner.query(
      `ALTER TABLE "api_key_usage" ADD CONSTRAINT "PK_api_key_usage" PRIMARY KEY ("api_key_id", "day")`,
    );
    await queryRunner.query(`INSERT INTO "api_key_usage" SELECT * FROM "api_key_usage_days"`);
    await queryRunner.query(`DROP TABLE "api_key_usage_days"`);
  }
}
