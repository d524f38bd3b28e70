import { Environment } from './environment-variables';

/** Defaults that do not depend on the environment. */
export const DEFAULTS: Record<string, string> = {
  PORT: '3000',
  WORKER_HEALTH_PORT: '3001',
  DATABASE_URL: 'postgres://postgres:postgres@localhost:5432/rocket_launch',
  DB_POOL_MAX: '10',
  DB_SLOW_QUERY_MS: '500',
  REDIS_URL: 'redis://localhost:6379',
  LOG_DIR: 'logs',
  LOG_TO_FILES: 'true',
  LOG_MAX_SIZE: '50m',
  LOG_MAX_FILES: '10',
  BODY_LIMIT: '1mb',
  RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1',
  RATE_LIMIT_BAN_THRESHOLD: '20',
  RATE_LIMIT_BAN_WINDOW_SECONDS: '600',
  RATE_LIMIT_BAN_SECONDS: '900',
  AUTH_FAILURE_BAN_THRESHOLD: '20',
  RATE_LIMIT_IPV6_PREFIX: '64',
  API_KEY_CACHE_SECONDS: '30',
  GENERATIONS_MAX_ACTIVE: '20',
  DAILY_TOKEN_BUDGET: '0',
  WORKER_CONCURRENCY: '4',
  WORKER_HEARTBEAT_SECONDS: '5',
  QUEUE_ATTEMPTS: '3',
  QUEUE_BACKOFF_MS: '2000',
  QUEUE_KEEP_COMPLETED: '1000',
  QUEUE_KEEP_FAILED: '5000',
  JOB_TIMEOUT_MS: '120000',
  GENERATION_RETENTION_DAYS: '30',
  SHUTDOWN_TIMEOUT_MS: '30000',
  QUEUE_LOCK_DURATION_MS: '30000',
  QUEUE_STALLED_INTERVAL_MS: '30000',
  HEALTH_CHECK_TIMEOUT_MS: '1500',
  HEALTH_DISK_THRESHOLD_PERCENT: '0.9',
  HEALTH_MEMORY_RSS_THRESHOLD_MB: '1024',
  GENAI_PROVIDER: 'local',
  GENAI_DEFAULT_MAX_TOKENS: '1024',
  LOCAL_PROVIDER_DELAY_MS: '0',
  OPENAI_BASE_URL: 'https://api.openai.com/v1',
  OPENAI_MODEL: 'gpt-4o-mini',
  OPENAI_TIMEOUT_MS: '60000',
  METRICS_ENABLED: 'true',
};

/** Defaults that differ between development, test and production. */
export const ENVIRONMENT_DEFAULTS: Record<Environment, Record<string, string>> = {
  development: {
    LOG_LEVEL: 'debug',
    LOG_FORMAT: 'pretty',
    RATE_LIMIT_PER_MINUTE: '600',
    KEY_RATE_LIMIT_PER_MINUTE: '600',
    GENERATIONS_PER_MINUTE: '600',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    DOCS_ENABLED: 'true',
  },
  test: {
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'pretty',
    RATE_LIMIT_PER_MINUTE: '600',
    KEY_RATE_LIMIT_PER_MINUTE: '600',
    GENERATIONS_PER_MINUTE: '600',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    DOCS_ENABLED: 'true',
  },
  production: {
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    RATE_LIMIT_PER_MINUTE: '60',
    KEY_RATE_LIMIT_PER_MINUTE: '60',
    GENERATIONS_PER_MINUTE: '20',
    SHUTDOWN_DRAIN_DELAY_MS: '5000',
    DOCS_ENABLED: 'false',
  },
};

/** Every variable the platform reads; each may also come as `NAME_FILE`. */
export const KNOWN_VARIABLES = [
  'ENVIRONMENT',
  ...Object.keys(DEFAULTS),
  ...Object.keys(ENVIRONMENT_DEFAULTS.production),
  'TRUST_PROXY',
  'CORS_ORIGINS',
  'BULL_BOARD_USERNAME',
  'BULL_BOARD_PASSWORD',
  'OPENAI_API_KEY',
  'METRICS_TOKEN',
  'GENAI_MODELS',
] as const;

/** Variables for which an empty string means something (an empty list), not "unset". */
export const KEEPS_EMPTY_VALUE = new Set<string>(['RATE_LIMIT_EXEMPT_IPS']);
