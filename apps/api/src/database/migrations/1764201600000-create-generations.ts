import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateGenerations1764201600000 implements MigrationInterface {
  name = 'CreateGenerations1764201600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "generations" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "owner_id" varchar(128) NOT NULL,
        "status" varchar(16) NOT NULL,
        "prompt" text NOT NULL,
        "model" varchar(128) NOT NULL,
        "max_tokens" int,
        "temperature" real,
        "result" text,
        "error" text,
        "attempts" int NOT NULL DEFAULT 0,
        "prompt_tokens" int,
        "completion_tokens" int,
        "request_id" varchar(128),
        "idempotency_key" varchar(255),
        "request_hash" char(64),
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "started_at" timestamptz,
        "completed_at" timestamptz,
        CONSTRAINT "PK_generations" PRIMARY KEY ("id"),
        CONSTRAINT "CHK_generations_status"
          CHECK ("status" IN ('queued', 'running', 'succeeded', 'failed', 'cancelled'))
      )`);
    await queryRunner.query(
      `CREATE INDEX "IDX_generations_owner_created" ON "generations" ("owner_id", "created_at", "id")`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_generations_owner_idempotency" ON "generations" ("owner_id", "idempotency_key") WHERE "idempotency_key" IS NOT NULL`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_generations_status_completed" ON "generations" ("status", "completed_at")`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "generations"`);
  }
}
