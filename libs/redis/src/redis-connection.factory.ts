import { withTimeout } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import Redis, { RedisOptions } from 'ioredis';
import { describeRedisUrl } from './redis-endpoint';

const logger = getLogger('Redis');

/** How long a disconnected client waits between reconnection attempts. */
export const REDIS_RETRY_MS = 1000;
/** While Redis stays down, one line per endpoint this often. */
export const REDIS_OUTAGE_LOG_INTERVAL_MS = 5000;

/**
 * What a connection is for. Bull needs three kinds: its blocking and subscriber
 * connections must not have a per-request retry limit nor a ready check. `command` is the
 * platform's own fast-failing client (rate limits, bans, heartbeats): no offline queue and a
 * command timeout, so a Redis outage never makes a request hang.
 */
export type RedisConnectionRole = 'client' | 'subscriber' | 'bclient' | 'command';

const outage = new Map<string, { since: number; lastLogged: number }>();

function reportDown(endpoint: string, error: Error & { code?: string }): void {
  const now = Date.now();
  const state = outage.get(endpoint);
  if (state && now - state.lastLogged < REDIS_OUTAGE_LOG_INTERVAL_MS) return;
  outage.set(endpoint, { since: state?.since ?? now, lastLogged: now });
  logger.warn(
    { endpoint, code: error.code },
    `Redis unreachable at ${endpoint} (${error.code ?? error.message}); retrying every ${REDIS_RETRY_MS / 1000}s`,
  );
}

function reportUp(endpoint: string): void {
  const state = outage.get(endpoint);
  if (!state) return;
  outage.delete(endpoint);
  logger.info(
    { endpoint, downForMs: Date.now() - state.since },
    `Redis reachable again at ${endpoint}`,
  );
}

function optionsFor(role: RedisConnectionRole): RedisOptions {
  const common: RedisOptions = {
    retryStrategy: () => REDIS_RETRY_MS,
    connectTimeout: 5000,
  };
  switch (role) {
    case 'bclient':
    case 'subscriber':
      return { ...common, maxRetriesPerRequest: null, enableReadyCheck: false };
    case 'command':
      return {
        ...common,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 1,
        commandTimeout: 1000,
        // Concurrent requests' commands share round trips.
        enableAutoPipelining: true,
      };
    case 'client':
      return { ...common, maxRetriesPerRequest: 3 };
  }
}

/** The one place Redis connections are made: per-role options and outage logging. */
export function createRedisConnection(
  url: string,
  role: RedisConnectionRole,
  overrides: RedisOptions = {},
): Redis {
  const endpoint = describeRedisUrl(url);
  const client = new Redis(url, { ...optionsFor(role), ...overrides });
  client.on('error', (error: Error) => reportDown(endpoint, error));
  client.on('ready', () => reportUp(endpoint));
  return client;
}

/**
 * Resolves once `client` can take commands. A command client has no offline queue (requests
 * must not wait on Redis), so a short-lived process that talks to Redis right after start-up —
 * the CLI — waits here first instead of failing with "Stream isn't writeable".
 */
export async function waitUntilReady(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return;
  let onReady = (): void => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
    client.once('ready', onReady);
  });
  try {
    await withTimeout(ready, timeoutMs, 'Redis');
  } catch {
    throw new Error(`Error connecting to Redis: not ready within ${timeoutMs} ms`);
  } finally {
    client.off('ready', onReady);
  }
}

/** Warns when Redis may evict keys: Bull's jobs would silently disappear (needs noeviction). */
export async function checkEvictionPolicy(
  client: Redis,
  endpoint: string,
): Promise<string | undefined> {
  const info = await client.info('memory');
  const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
  if (policy && policy !== 'noeviction') {
    logger.warn(
      { endpoint, maxmemoryPolicy: policy },
      `Redis at ${endpoint} has maxmemory-policy ${policy}; Bull needs noeviction or queued jobs can be lost`,
    );
  }
  return policy;
}
