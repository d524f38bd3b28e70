import { Client } from 'pg';
import { sleep } from '../support/processes';
import { SCALE_DATABASE_URL } from './scale-env';

export interface StoredGeneration {
  id: string;
  status: string;
  result: string | null;
  attempts: number;
}

/** The records of `ids`, read straight from PostgreSQL. */
export async function recordsOf(ids: string[]): Promise<StoredGeneration[]> {
  const client = new Client({ connectionString: SCALE_DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query<StoredGeneration>(
      'SELECT id, status, result, attempts FROM generations WHERE id = ANY($1::uuid[])',
      [ids],
    );
    return rows;
  } finally {
    await client.end();
  }
}

/**
 * Waits until every one of `ids` has a `succeeded` record with a result; returns the records
 * (one per id, or the test fails on the count).
 */
export async function waitAllSucceeded(
  ids: string[],
  timeoutMs: number,
): Promise<StoredGeneration[]> {
  const deadline = Date.now() + timeoutMs;
  let records: StoredGeneration[] = [];
  while (Date.now() < deadline) {
    records = await recordsOf(ids);
    if (records.length === ids.length && records.every((r) => r.status === 'succeeded')) {
      return records;
    }
    await sleep(500);
  }
  const states: Record<string, number> = {};
  for (const record of records) states[record.status] = (states[record.status] ?? 0) + 1;
  throw new Error(
    `${ids.length} accepted, ${records.length} records, states ${JSON.stringify(states)}`,
  );
}
