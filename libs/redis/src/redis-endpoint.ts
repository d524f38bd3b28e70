import type { RedisSettings } from '@app/config';

/** host:port of a Redis URL, for log lines (never the password). */
export function describeRedisUrl(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname || 'localhost'}:${parsed.port || 6379}`;
}

/**
 * Where the settings lead, for log lines and start-up messages (never a password): the server,
 * the Sentinel master and its sentinels, or the Cluster's seed nodes.
 */
export function describeRedis(settings: RedisSettings): string {
  const list = (nodes: Array<{ host: string; port: number }>) =>
    nodes.map(({ host, port }) => `${host}:${port}`).join(',');
  switch (settings.mode) {
    case 'sentinel':
      return `sentinel master ${settings.sentinelName} via ${list(settings.sentinels)}`;
    case 'cluster':
      return `cluster ${list(settings.clusterNodes)}`;
    case 'standalone':
      return describeRedisUrl(settings.url);
  }
}
