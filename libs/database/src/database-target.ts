/** Where the platform's database lives, for messages that must name it (never the password). */
export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  user: string;
}

export function describeDatabaseUrl(url: string): DatabaseTarget {
  const parsed = new URL(url);
  return {
    host: parsed.hostname || 'localhost',
    port: Number(parsed.port || 5432),
    database: decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres',
    user: decodeURIComponent(parsed.username || 'postgres'),
  };
}

/** The same server, but its maintenance database (to create ours when it is missing). */
export function maintenanceUrl(url: string): string {
  const parsed = new URL(url);
  parsed.pathname = '/postgres';
  return parsed.toString();
}
