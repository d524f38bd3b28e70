import { MigrationInterface, QueryRunner } from 'typeorm';
import { claimFunction } from './1765238400000-hot-path-functions';

const SIGNATURE = 'uuid, int, text, int, text';

/**
 * A claim that only starts an attempt (queued → running, no usage written) is a lease, not
 * something a client was told: `generation_claim` commits it with `synchronous_commit` off
 * (for that transaction alone), so a worker slot does not wait for its WAL flush. PostgreSQL
 * flushes it within `wal_writer_delay` (200 ms) or with the next synchronous commit — the
 * attempt's own result among them — and a crash before that only loses the lease: the record is
 * queued again, and the job's result, refused by the attempt guard, is run again by the
 * reconciler. Every other claim (a final failure, a dead attempt's prompt counted) and every
 * other write stays synchronous.
 */
export class LeaseClaims1765670400000 implements MigrationInterface {
  name = 'LeaseClaims1765670400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "generation_claim"(${SIGNATURE})`);
    await queryRunner.query(claimFunction({ startedAt: true, leaseCommit: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION "generation_claim"(${SIGNATURE})`);
    await queryRunner.query(claimFunction({ startedAt: true }));
  }
}
