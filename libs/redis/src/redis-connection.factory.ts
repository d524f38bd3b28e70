import type { RedisSettings } from '@app/config';
import { withTimeout } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { describeRedis } from './redis-endpoint';

/** A connection in any of the three modes: one server or a Sentinel-led master, or a Cluster. */
export type RedisClient = Redis | Cluster;

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

/** CA files already read: every connection of a process shares one read. */
const caFiles = new Map<string, Buffer>();

/** `rediss:` → TLS, with the private CA of REDIS_TLS_CA_FILE when there is one. */
function tlsOf(settings: RedisSettings): ConnectionOptions | undefined {
  if (new URL(settings.url).protocol !== 'rediss:') return undefined;
  const file = settings.tlsCaFile;
  if (!file) return {};
  if (!caFiles.has(file)) caFiles.set(file, readFileSync(file));
  return { ca: caFiles.get(file) };
}

/** What the URL carries in every mode: credentials and TLS (its db: `databaseOf`). */
function credentialsOf(settings: RedisSettings): RedisOptions {
  const url = new URL(settings.url);
  return {
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    tls: tlsOf(settings),
  };
}

/** The db a redis:// URL names; a Cluster has only db 0 (checked at start-up). */
function databaseOf(settings: RedisSettings): number {
  const db = new URL(settings.url).pathname.replace(/^\//, '');
  return db === '' ? 0 : Number(db);
}

/**
 * A Cluster client per role. Bull reads its connection checks from `redisOptions`, so the
 * per-role limits sit there (STACK.md); the command client keeps no offline queue at the
 * cluster level either.
 */
function clusterConnection(settings: RedisSettings, role: RedisConnectionRole): Cluster {
  const { enableOfflineQueue, ...perNode } = optionsFor(role);
  const options: ClusterOptions = {
    clusterRetryStrategy: () => REDIS_RETRY_MS,
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableReadyCheck: role === 'command' || role === 'client',
    // no auto-pipelining: ioredis's Cluster batches by node, and a script's EVALSHA batched
    // with another slot's command fails ("All keys in the pipeline should belong to the same
    // slots allocation group")
    enableAutoPipelining: false,
    redisOptions: { ...perNode, enableAutoPipelining: false, ...credentialsOf(settings) },
  };
  return new Cluster(settings.clusterNodes, options);
}

/**
 * The one place Redis connections are made, in the mode the settings name (SPEC §13): per-role
 * options and outage logging. A Sentinel client asks the sentinels for the master on every
 * (re)connection and follows a failover by itself.
 */
export function createRedisConnection(
  settings: RedisSettings,
  role: RedisConnectionRole,
): RedisClient {
  const endpoint = describeRedis(settings);
  let client: RedisClient;
  switch (settings.mode) {
    case 'cluster':
      client = clusterConnection(settings, role);
      break;
    case 'sentinel': {
      const tls = tlsOf(settings);
      client = new Redis({
        ...optionsFor(role),
        ...credentialsOf(settings),
        db: databaseOf(settings),
        // rediss:// → TLS to the master (ioredis uses `tls` in Sentinel mode only with this
        // flag) and to the sentinels, with the same CA
        enableTLSForSentinelMode: tls !== undefined,
        sentinelTLS: tls,
        sentinels: settings.sentinels,
        name: settings.sentinelName,
        sentinelPassword: settings.sentinelPassword,
        sentinelRetryStrategy: () => REDIS_RETRY_MS,
        // the sentinels announce a new master at once; without this a client waits for its
        // connection to the old one to fail
        failoverDetector: true,
        // a master demoted by a manual failover answers writes with READONLY: ask again
        reconnectOnError: (error) => error.message.startsWith('READONLY'),
      });
      break;
    }
    case 'standalone':
      client = new Redis(settings.url, {
        ...optionsFor(role),
        tls: tlsOf(settings),
      });
  }
  client.on('error', (error: Error) => reportDown(endpoint, error));
  client.on('ready', () => reportUp(endpoint));
  return client;
}

/**
 * Resolves once `client` can take commands. A command client has no offline queue (requests
 * must not wait on Redis), so a short-lived process that talks to Redis right after start-up —
 * the CLI — waits here first instead of failing with "Stream isn't writeable".
 */
export async function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
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
  client: RedisClient,
  endpoint: string,
): Promise<string | undefined> {
  // every master of a Cluster holds some of the queues' keys
  const servers = client instanceof Cluster ? client.nodes('master') : [client];
  let found: string | undefined;
  for (const server of servers) {
    const info = await server.info('memory');
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    found ??= policy;
    if (policy && policy !== 'noeviction') {
      logger.warn(
        { endpoint, maxmemoryPolicy: policy },
        `Redis at ${endpoint} has maxmemory-policy ${policy}; Bull needs noeviction or queued jobs can be lost`,
      );
      return policy;
    }
  }
  return found;
}
