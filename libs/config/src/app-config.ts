import {
  Environment,
  EnvironmentVariables,
  GenAiProviderName,
  LogLevel,
} from './environment-variables';
import { parseHostPort, splitList } from './validators';

/** The platform's processes; each entry point declares which it is, once (`startProcess`). */
export type ServiceName = 'api' | 'worker' | 'cli';

/** How the platform reaches Redis (SPEC §13). */
export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export interface HostPort {
  host: string;
  port: number;
}

/**
 * Redis as the one connection factory needs it. `url` carries the address in standalone mode;
 * in Sentinel and Cluster mode only its credentials, TLS (`rediss:`) and, for Sentinel, its db.
 */
export interface RedisSettings {
  url: string;
  mode: RedisMode;
  sentinels: HostPort[];
  sentinelName?: string;
  sentinelPassword?: string;
  clusterNodes: HostPort[];
  tlsCaFile?: string;
}

export type TrustProxySetting = false | number | string[];

/**
 * One API key's limits: requests per minute over every /api/v1 route, generation POSTs per
 * minute, generations queued or running at once, and prompt + completion tokens per UTC day
 * (0: no budget).
 */
export interface KeyLimits {
  perMinute: number;
  generationsPerMinute: number;
  maxActive: number;
  dailyTokens: number;
}

/**
 * The validated configuration, grouped by concern. Injected by class token (`AppConfig`), so
 * nothing outside this lib reads `process.env`.
 */
export abstract class AppConfig {
  /** Which process this configuration was loaded for: log folder, metrics label. */
  abstract readonly service: ServiceName;
  abstract readonly environment: Environment;
  abstract readonly isProduction: boolean;
  abstract readonly http: {
    port: number;
    trustProxy: TrustProxySetting;
    corsOrigins: string[];
    bodyLimit: string;
    docsEnabled: boolean;
  };
  abstract readonly database: {
    url: string;
    /** A direct connection (not PgBouncer) for `CREATE DATABASE` and migrations. */
    migrationUrl: string;
    poolMax: number;
    slowQueryMs: number;
  };
  abstract readonly redis: RedisSettings;
  abstract readonly logging: {
    level: LogLevel;
    dir: string;
    format: 'json' | 'pretty';
    toFiles: boolean;
    /** rotating-file-stream's size notation: `50M`, `512K`, `1G`. */
    maxSize: string;
    maxFiles: number;
  };
  abstract readonly rateLimit: {
    perMinute: number;
    exemptIps: string[];
    banThreshold: number;
    banWindowSeconds: number;
    banSeconds: number;
    authFailureBanThreshold: number;
    /** An IPv6 client is its /ipv6Prefix network (one subscriber's allocation). */
    ipv6Prefix: number;
  };
  abstract readonly auth: { apiKeyCacheSeconds: number };
  /** What one API key may use unless its own record says otherwise (per-key columns). */
  abstract readonly keyLimits: KeyLimits;
  abstract readonly bullBoard: { username?: string; password?: string };
  abstract readonly worker: {
    concurrency: number;
    heartbeatSeconds: number;
    healthPort: number;
  };
  abstract readonly queue: {
    attempts: number;
    backoffMs: number;
    keepCompleted: number;
    keepFailed: number;
    jobTimeoutMs: number;
    lockDurationMs: number;
    stalledIntervalMs: number;
    /** Bull's key prefix; in Cluster mode each queue's keys also carry a hash tag. */
    prefix: string;
  };
  abstract readonly generations: { retentionDays: number };
  /** Event streams (SSE) open at once per key, across replicas (GENERATIONS_MAX_STREAMS). */
  abstract readonly streams: { maxPerKey: number };
  abstract readonly shutdown: { timeoutMs: number; drainDelayMs: number };
  abstract readonly health: {
    checkTimeoutMs: number;
    diskThreshold: number;
    memoryRssThresholdMb: number;
  };
  abstract readonly genai: {
    provider: GenAiProviderName;
    /** Models a request may name; empty means the provider's default model only. */
    models: string[];
    defaultMaxTokens: number;
    localDelayMs: number;
    openai: { baseUrl: string; apiKey?: string; model: string; timeoutMs: number };
  };
  abstract readonly metrics: { enabled: boolean; token?: string };
  /** Completion webhooks (SPEC §14); `secrets` empty: a callbackUrl is refused. */
  abstract readonly webhooks: {
    /** WEBHOOK_SECRET's `whsec_…` keys: every one signs each attempt (a rotation has two). */
    secrets: string[];
    attempts: number;
    backoffMs: number;
    allowPrivate: boolean;
    /** WEBHOOK_DNS_SERVERS; empty: the system's (resolv.conf). */
    dnsServers: string[];
  };
}

/** The `whsec_` + base64 secret the Standard Webhooks scheme signs with: 24 to 64 bytes. */
const WEBHOOK_SECRET = /^whsec_((?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?)$/;

/** WEBHOOK_SECRET's keys (space-separated during a rotation), or undefined when one is malformed. */
export function webhookSecretsOf(value: string): string[] | undefined {
  const secrets = value.trim().split(/\s+/).filter(Boolean);
  if (secrets.length === 0) return undefined;
  const valid = secrets.every((secret) => {
    const match = WEBHOOK_SECRET.exec(secret);
    if (!match) return false;
    const bytes = Buffer.from(match[1], 'base64').length;
    return bytes >= 24 && bytes <= 64;
  });
  return valid ? secrets : undefined;
}

/** The db number a redis:// URL names (`/3`), or undefined when it names none. */
export function redisDatabaseOf(url: string): number | undefined {
  try {
    const path = new URL(url).pathname.replace(/^\//, '');
    return path === '' ? undefined : Number(path);
  } catch {
    return undefined;
  }
}

function hostPorts(value: string | undefined): HostPort[] {
  return splitList(value).flatMap((entry) => parseHostPort(entry) ?? []);
}

function redisSettings(env: EnvironmentVariables): RedisSettings {
  const sentinels = hostPorts(env.REDIS_SENTINELS);
  const clusterNodes = hostPorts(env.REDIS_CLUSTER_NODES);
  return {
    url: env.REDIS_URL,
    mode: clusterNodes.length > 0 ? 'cluster' : sentinels.length > 0 ? 'sentinel' : 'standalone',
    sentinels,
    sentinelName: env.REDIS_SENTINEL_NAME || undefined,
    sentinelPassword: env.REDIS_SENTINEL_PASSWORD || undefined,
    clusterNodes,
    tlsCaFile: env.REDIS_TLS_CA_FILE || undefined,
  };
}

function parseTrustProxy(value: string | undefined): TrustProxySetting {
  if (value === undefined || value.trim() === '') return false;
  // Express reads the string "1" as an address: a hop count must be a number.
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  return splitList(value);
}

export function toAppConfig(env: EnvironmentVariables, service: ServiceName): AppConfig {
  return Object.freeze({
    service,
    environment: env.ENVIRONMENT,
    isProduction: env.ENVIRONMENT === 'production',
    http: {
      port: env.PORT,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      corsOrigins: splitList(env.CORS_ORIGINS).map((origin) => origin.replace(/\/$/, '')),
      bodyLimit: env.BODY_LIMIT,
      docsEnabled: env.DOCS_ENABLED,
    },
    database: {
      url: env.DATABASE_URL,
      migrationUrl: env.DATABASE_MIGRATION_URL || env.DATABASE_URL,
      poolMax: env.DB_POOL_MAX,
      slowQueryMs: env.DB_SLOW_QUERY_MS,
    },
    redis: redisSettings(env),
    logging: {
      level: env.LOG_LEVEL,
      dir: env.LOG_DIR,
      format: env.LOG_FORMAT,
      toFiles: env.LOG_TO_FILES,
      maxSize: env.LOG_MAX_SIZE.toUpperCase(),
      maxFiles: env.LOG_MAX_FILES,
    },
    rateLimit: {
      perMinute: env.RATE_LIMIT_PER_MINUTE,
      exemptIps: splitList(env.RATE_LIMIT_EXEMPT_IPS),
      banThreshold: env.RATE_LIMIT_BAN_THRESHOLD,
      banWindowSeconds: env.RATE_LIMIT_BAN_WINDOW_SECONDS,
      banSeconds: env.RATE_LIMIT_BAN_SECONDS,
      authFailureBanThreshold: env.AUTH_FAILURE_BAN_THRESHOLD,
      ipv6Prefix: env.RATE_LIMIT_IPV6_PREFIX,
    },
    auth: { apiKeyCacheSeconds: env.API_KEY_CACHE_SECONDS },
    keyLimits: {
      perMinute: env.KEY_RATE_LIMIT_PER_MINUTE,
      generationsPerMinute: env.GENERATIONS_PER_MINUTE,
      maxActive: env.GENERATIONS_MAX_ACTIVE,
      dailyTokens: env.DAILY_TOKEN_BUDGET,
    },
    streams: { maxPerKey: env.GENERATIONS_MAX_STREAMS },
    bullBoard: { username: env.BULL_BOARD_USERNAME, password: env.BULL_BOARD_PASSWORD },
    worker: {
      concurrency: env.WORKER_CONCURRENCY,
      heartbeatSeconds: env.WORKER_HEARTBEAT_SECONDS,
      healthPort: env.WORKER_HEALTH_PORT,
    },
    queue: {
      attempts: env.QUEUE_ATTEMPTS,
      backoffMs: env.QUEUE_BACKOFF_MS,
      keepCompleted: env.QUEUE_KEEP_COMPLETED,
      keepFailed: env.QUEUE_KEEP_FAILED,
      jobTimeoutMs: env.JOB_TIMEOUT_MS,
      lockDurationMs: env.QUEUE_LOCK_DURATION_MS,
      stalledIntervalMs: env.QUEUE_STALLED_INTERVAL_MS,
      prefix: env.QUEUE_PREFIX,
    },
    generations: { retentionDays: env.GENERATION_RETENTION_DAYS },
    shutdown: { timeoutMs: env.SHUTDOWN_TIMEOUT_MS, drainDelayMs: env.SHUTDOWN_DRAIN_DELAY_MS },
    health: {
      checkTimeoutMs: env.HEALTH_CHECK_TIMEOUT_MS,
      diskThreshold: env.HEALTH_DISK_THRESHOLD_PERCENT,
      memoryRssThresholdMb: env.HEALTH_MEMORY_RSS_THRESHOLD_MB,
    },
    genai: {
      provider: env.GENAI_PROVIDER,
      models: splitList(env.GENAI_MODELS),
      defaultMaxTokens: env.GENAI_DEFAULT_MAX_TOKENS,
      localDelayMs: env.LOCAL_PROVIDER_DELAY_MS,
      openai: {
        baseUrl: env.OPENAI_BASE_URL.replace(/\/$/, ''),
        apiKey: env.OPENAI_API_KEY || undefined,
        model: env.OPENAI_MODEL,
        timeoutMs: env.OPENAI_TIMEOUT_MS,
      },
    },
    metrics: { enabled: env.METRICS_ENABLED, token: env.METRICS_TOKEN },
    webhooks: {
      secrets: env.WEBHOOK_SECRET ? (webhookSecretsOf(env.WEBHOOK_SECRET) ?? []) : [],
      attempts: env.WEBHOOK_ATTEMPTS,
      backoffMs: env.WEBHOOK_BACKOFF_MS,
      allowPrivate: env.WEBHOOK_ALLOW_PRIVATE,
      dnsServers: splitList(env.WEBHOOK_DNS_SERVERS),
    },
  });
}
