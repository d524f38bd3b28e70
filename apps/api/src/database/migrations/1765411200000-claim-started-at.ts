import { MigrationInterface, QueryRunner } from 'typeorm';
import { claimFunction } from './1765238400000-hot-path-functions';

const SIGNATURE = 'uuid, int, text, int, text';

/**
 * `generation_claim` returns the record's `started_at` as well: the worker's `status` event of
 * a running generation (SPEC §14) carries the stored value, not the worker's clock.
 */
export class ClaimStartedAt1765411200000 implements MigrationInterface {
  name = 'ClaimStartedAt1765411200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "generation_claim"(${SIGNATURE})`);
    await queryRunner.query(claimFunction({ startedAt: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "generation_claim"(${SIGNATURE})`);
    await queryRunner.query(claimFunction());
  }
}
