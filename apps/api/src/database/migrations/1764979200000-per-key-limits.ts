import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-key limits and quotas: each key's own limits (NULL: the configured defaults), the key a
 * generation was made with (NULL for rows made before: they count toward no quota), and the
 * per-key, per-UTC-day usage table the generations' transitions keep in step.
 */
export class PerKeyLimits1764979200000 implements MigrationInterface {
  name = 'PerKeyLimits1764979200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "api_keys"
        ADD COLUMN "rate_limit_per_minute" int,
        ADD COLUMN "generations_per_minute" int,
        ADD COLUMN "max_active_generations" int,
        ADD COLUMN "daily_token_budget" int`);
    await queryRunner.query(`ALTER TABLE "generations" ADD COLUMN "api_key_id" uuid`);
    await queryRunner.query(
      `CREATE INDEX "IDX_generations_api_key_active" ON "generations" ("api_key_id") WHERE "status" IN ('queued', 'running')`,
    );
    await queryRunner.query(`
      CREATE TABLE "api_key_usage" (
        "api_key_id" uuid NOT NULL,
        "day" date NOT NULL,
        "generations" int NOT NULL DEFAULT 0,
        "succeeded" int NOT NULL DEFAULT 0,
        "failed" int NOT NULL DEFAULT 0,
        "cancelled" int NOT NULL DEFAULT 0,
        "prompt_tokens" bigint NOT NULL DEFAULT 0,
        "completion_tokens" bigint NOT NULL DEFAULT 0,
        CONSTRAINT "PK_api_key_usage" PRIMARY KEY ("api_key_id", "day")
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_key_usage"`);
    await queryRunner.query(`DROP INDEX "IDX_generations_api_key_active"`);
    await queryRunner.query(`ALTER TABLE "generations" DROP COLUMN "api_key_id"`);
    await queryRunner.query(`
      ALTER TABLE "api_keys"
        DROP COLUMN "rate_limit_per_minute",
        DROP COLUMN "generations_per_minute",
        DROP COLUMN "max_active_generations",
        DROP COLUMN "daily_token_budget"`);
  }
}
