import { MigrationInterface, QueryRunner } from 'typeorm';
import { createWithinQuotaFunction } from './1765238400000-hot-path-functions';

const OLD_SIGNATURE = `varchar, uuid, text, varchar, int, real, varchar, varchar, char(64), int, int`;

/**
 * The W3C `traceparent` of the request that created a generation, beside its request id: the
 * reconciler links a re-queued job's new trace to it (SPEC §15). NULL when tracing is off.
 */
export class TraceContext1765324800000 implements MigrationInterface {
  name = 'TraceContext1765324800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "generations" ADD "traceparent" varchar(55)`);
    await queryRunner.query(`DROP FUNCTION "generation_create_within_quota"(${OLD_SIGNATURE})`);
    await queryRunner.query(createWithinQuotaFunction({ traceparent: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `DROP FUNCTION "generation_create_within_quota"(${OLD_SIGNATURE}, varchar)`,
    );
    await queryRunner.query(`ALTER TABLE "generations" DROP COLUMN "traceparent"`);
    await queryRunner.query(createWithinQuotaFunction());
  }
}
