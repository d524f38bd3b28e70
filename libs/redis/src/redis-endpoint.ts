/** host:port of a Redis URL, for log lines (never the password). */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || 'localhost'}:${parsed.port || 6379}`;
}
