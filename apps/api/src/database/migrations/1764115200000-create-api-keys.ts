import { MigrationInterface, QueryRunner } from 'typeorm';

export class CreateApiKeys1764115200000 implements MigrationInterface {
  name = 'CreateApiKeys1764115200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "prefix" varchar(16) NOT NULL,
        "key_hash" char(64) NOT NULL,
        "user_id" varchar(128) NOT NULL,
        "name" varchar(128) NOT NULL,
        "admin" boolean NOT NULL DEFAULT false,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "expires_at" timestamptz,
        "revoked_at" timestamptz,
        "last_used_at" timestamptz,
        CONSTRAINT "PK_api_keys" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`CREATE UNIQUE INDEX "IDX_api_keys_prefix" ON "api_keys" ("prefix")`);
    await queryRunner.query(`CREATE INDEX "IDX_api_keys_user_id" ON "api_keys" ("user_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
