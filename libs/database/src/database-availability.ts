import { Client } from 'pg';
import { describeDatabaseUrl } from './database-target';

const CONNECT_TIMEOUT_MS = 5000;

/** PostgreSQL could not be reached at start-up; the message is the one line an operator reads. */
export class DatabaseUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUnavailableError';
  }
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
]);

/**
 * Connects once, so a missing or unreachable database stops start-up with one clear line
 * (where it tried, how to start it) instead of a stack trace from deep inside the pool.
 */
export async function assertDatabaseAvailable(url: string): Promise<void> {
  const target = describeDatabaseUrl(url);
  const where = `${target.host}:${target.port}`;
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new DatabaseUnavailableError(
      explain(error as NodeJS.ErrnoException, where, target.database),
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

function explain(error: NodeJS.ErrnoException, where: string, database: string): string {
  const code = error.code ?? '';
  if (UNREACHABLE_CODES.has(code) || /timeout/i.test(error.message)) {
    return (
      `Error connecting to PostgreSQL: nothing answered at ${where} (${code || 'timeout'}). ` +
      'Start it (docker compose up -d postgres) or set DATABASE_URL.'
    );
  }
  if (code === '3D000') {
    return `Error connecting to PostgreSQL: database "${database}" does not exist at ${where}. Run npm run db:setup.`;
  }
  if (code === '28P01' || code === '28000') {
    return `Error connecting to PostgreSQL: authentication failed at ${where}. Check the user and password in DATABASE_URL.`;
  }
  return `Error connecting to PostgreSQL at ${where}: ${code ? `${code} ` : ''}${error.message.split('\n')[0]}`;
}
