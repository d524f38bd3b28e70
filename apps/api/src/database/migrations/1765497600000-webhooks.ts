import { MigrationInterface, QueryRunner } from 'typeorm';
import { createWithinQuotaFunction } from './1765238400000-hot-path-functions';

const TRACED_SIGNATURE = `varchar, uuid, text, varchar, int, real, varchar, varchar, char(64), int, int, varchar`;

/**
 * Completion webhooks (SPEC §14): a generation's `callback_url` and its delivery state, on the
 * record itself. A finished generation whose delivery is `pending` is the outbox: the final
 * transition that makes it due is the same UPDATE that ends the generation, and the
 * reconciler finds the deliveries Redis lost through the partial index.
 */
export class Webhooks1765497600000 implements MigrationInterface {
  name = 'Webhooks1765497600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "generations"
        ADD "callback_url" varchar(2048),
        ADD "callback_state" varchar(16),
        ADD "callback_attempts" integer NOT NULL DEFAULT 0,
        ADD "callback_last_status" integer,
        ADD CONSTRAINT "CHK_generations_callback_state"
          CHECK ("callback_state" IN ('pending', 'delivered', 'failed'))`);
    await queryRunner.query(
      `CREATE INDEX "IDX_generations_callback_pending" ON "generations" ("completed_at", "id") WHERE "callback_state" = 'pending' AND "status" IN ('succeeded', 'failed', 'cancelled')`,
    );
    await queryRunner.query(`DROP FUNCTION "generation_create_within_quota"(${TRACED_SIGNATURE})`);
    await queryRunner.query(createWithinQuotaFunction({ traceparent: true, callback: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP FUNCTION "generation_create_within_quota"(${TRACED_SIGNATURE}, varchar)`,
    );
    await queryRunner.query(`DROP INDEX "IDX_generations_callback_pending"`);
    await queryRunner.query(`
      ALTER TABLE "generations"
        DROP CONSTRAINT "CHK_generations_callback_state",
        DROP COLUMN "callback_last_status",
        DROP COLUMN "callback_attempts",
        DROP COLUMN "callback_state",
        DROP COLUMN "callback_url"`);
    await queryRunner.query(createWithinQuotaFunction({ traceparent: true }));
  }
}
