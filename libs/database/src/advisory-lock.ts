import type { DataSource } from 'typeorm';

/**
 * Runs `work` only where no other process holds the same lock: a transaction-scoped PostgreSQL
 * advisory lock (released with the transaction, so it also works through PgBouncer's
 * transaction pooling). Returns `undefined` when another holder has it; `work` runs on other
 * connections, the lock's own connection only waits.
 */
export async function withAdvisoryLock<T>(
  dataSource: DataSource,
  key: number,
  work: () => Promise<T>,
): Promise<T | undefined> {
  const runner = dataSource.createQueryRunner();
  await runner.startTransaction();
  try {
    const [row] = (await runner.query('SELECT pg_try_advisory_xact_lock($1) AS locked', [
      key,
    ])) as Array<{ locked: boolean }>;
    return row?.locked ? await work() : undefined;
  } finally {
    await runner.rollbackTransaction().catch(() => undefined);
    await runner.release();
  }
}
