import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import {
  IsAddressList,
  IsHostPortList,
  IsOriginList,
  IsTrustProxy,
  IsUrlWithProtocol,
  toBoolean,
  toInteger,
  toNumber,
} from './validators';

export const ENVIRONMENTS = ['development', 'test', 'production'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];
/** The generation providers GENAI_PROVIDER can name; the generations lib maps each to its code. */
export const GENAI_PROVIDER_NAMES = ['local', 'openai'] as const;
export type GenAiProviderName = (typeof GENAI_PROVIDER_NAMES)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const int = () => Transform(({ value }) => toInteger(value));
const bool = () => Transform(({ value }) => toBoolean(value));
const mustBe = (what: string, { echo = true } = {}) => ({
  message: (args: { property: string; value: unknown }) =>
    echo
      ? `${args.property} must be ${what} (got ${JSON.stringify(args.value)})`
      : `${args.property} must be ${what}`,
});

/**
 * The raw environment, after defaults, as class-validator sees it. Every variable of the
 * specification is a property here; `AppConfig` is the typed view the code injects.
 */
export class EnvironmentVariables {
  @IsIn(ENVIRONMENTS, mustBe('one of development, test, production'))
  ENVIRONMENT: Environment;

  @int()
  @IsInt(mustBe('an integer from 0 to 65535'))
  @Min(0, mustBe('an integer from 0 to 65535'))
  @Max(65535, mustBe('an integer from 0 to 65535'))
  PORT: number;

  @int()
  @IsInt(mustBe('an integer from 0 to 65535'))
  @Min(0, mustBe('an integer from 0 to 65535'))
  @Max(65535, mustBe('an integer from 0 to 65535'))
  WORKER_HEALTH_PORT: number;

  @IsUrlWithProtocol(
    ['postgres', 'postgresql'],
    mustBe('a postgres:// URL with a host', { echo: false }),
  )
  DATABASE_URL: string;

  @int()
  @IsInt(mustBe('an integer from 1 to 1000'))
  @Min(1, mustBe('an integer from 1 to 1000'))
  @Max(1000, mustBe('an integer from 1 to 1000'))
  DB_POOL_MAX: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 1'))
  @Min(1, mustBe('a whole number of milliseconds, at least 1'))
  DB_SLOW_QUERY_MS: number;

  @IsUrlWithProtocol(
    ['redis', 'rediss'],
    mustBe('a redis:// or rediss:// URL with a host', { echo: false }),
  )
  REDIS_URL: string;

  @ValidateIf((env: EnvironmentVariables) => env.REDIS_TLS_CA_FILE !== undefined)
  @IsString()
  @MinLength(1, mustBe('the path of a PEM file'))
  REDIS_TLS_CA_FILE?: string;

  @ValidateIf((env: EnvironmentVariables) => env.REDIS_SENTINELS !== undefined)
  @IsHostPortList(mustBe('a comma-separated list of host:port'))
  REDIS_SENTINELS?: string;

  @ValidateIf((env: EnvironmentVariables) => env.REDIS_SENTINEL_NAME !== undefined)
  @Matches(/^[A-Za-z0-9._-]{1,100}$/, mustBe("a Sentinel master's name (letters, digits, . _ -)"))
  REDIS_SENTINEL_NAME?: string;

  @IsOptional()
  @IsString()
  REDIS_SENTINEL_PASSWORD?: string;

  @ValidateIf((env: EnvironmentVariables) => env.REDIS_CLUSTER_NODES !== undefined)
  @IsHostPortList(mustBe('a comma-separated list of host:port'))
  REDIS_CLUSTER_NODES?: string;

  @Matches(/^[A-Za-z0-9_.-]{1,50}$/, mustBe('1 to 50 letters, digits, . _ or -'))
  QUEUE_PREFIX: string;

  @ValidateIf((env: EnvironmentVariables) => env.DATABASE_MIGRATION_URL !== undefined)
  @IsUrlWithProtocol(
    ['postgres', 'postgresql'],
    mustBe('a postgres:// URL with a host', { echo: false }),
  )
  DATABASE_MIGRATION_URL?: string;

  @IsIn(LOG_LEVELS, mustBe(`one of ${LOG_LEVELS.join(', ')}`))
  LOG_LEVEL: LogLevel;

  @IsString()
  @MinLength(1, mustBe('a folder path'))
  LOG_DIR: string;

  @IsIn(['json', 'pretty'], mustBe('json or pretty'))
  LOG_FORMAT: 'json' | 'pretty';

  @bool()
  @IsBoolean(mustBe('true or false'))
  LOG_TO_FILES: boolean;

  @Matches(/^[1-9]\d*[kmg]?$/i, mustBe('a size such as 50m, 512k or 1g'))
  LOG_MAX_SIZE: string;

  @int()
  @IsInt(mustBe('an integer from 1 to 1000'))
  @Min(1, mustBe('an integer from 1 to 1000'))
  @Max(1000, mustBe('an integer from 1 to 1000'))
  LOG_MAX_FILES: number;

  @IsOptional()
  @IsTrustProxy(
    mustBe(
      'a hop count (1), loopback, linklocal, uniquelocal, or a comma-separated list of IPs/CIDRs; never true',
    ),
  )
  TRUST_PROXY?: string;

  @IsOptional()
  @IsOriginList(mustBe('a comma-separated list of origins such as https://app.example.com'))
  CORS_ORIGINS?: string;

  @Matches(/^[1-9]\d*(b|kb|mb|gb)?$/i, mustBe('a size such as 1mb, 512kb or 100000'))
  BODY_LIMIT: string;

  @int()
  @IsInt(mustBe('an integer, at least 1'))
  @Min(1, mustBe('an integer, at least 1'))
  RATE_LIMIT_PER_MINUTE: number;

  @IsAddressList(mustBe('a comma-separated list of IPs or CIDRs (empty for none)'))
  RATE_LIMIT_EXEMPT_IPS: string;

  @int()
  @IsInt(mustBe('an integer, at least 1'))
  @Min(1, mustBe('an integer, at least 1'))
  RATE_LIMIT_BAN_THRESHOLD: number;

  @int()
  @IsInt(mustBe('a whole number of seconds, at least 1'))
  @Min(1, mustBe('a whole number of seconds, at least 1'))
  RATE_LIMIT_BAN_WINDOW_SECONDS: number;

  @int()
  @IsInt(mustBe('a whole number of seconds, at least 1'))
  @Min(1, mustBe('a whole number of seconds, at least 1'))
  RATE_LIMIT_BAN_SECONDS: number;

  @int()
  @IsInt(mustBe('an integer, at least 1'))
  @Min(1, mustBe('an integer, at least 1'))
  AUTH_FAILURE_BAN_THRESHOLD: number;

  @int()
  @IsInt(mustBe('a prefix length from 32 to 128'))
  @Min(32, mustBe('a prefix length from 32 to 128'))
  @Max(128, mustBe('a prefix length from 32 to 128'))
  RATE_LIMIT_IPV6_PREFIX: number;

  @int()
  @IsInt(mustBe('a whole number of seconds from 0 to 60'))
  @Min(0, mustBe('a whole number of seconds from 0 to 60'))
  @Max(60, mustBe('a whole number of seconds from 0 to 60'))
  API_KEY_CACHE_SECONDS: number;

  @int()
  @IsInt(mustBe('an integer, at least 0 (0: no such limit)'))
  @Min(0, mustBe('an integer, at least 0 (0: no such limit)'))
  KEY_RATE_LIMIT_PER_MINUTE: number;

  @int()
  @IsInt(mustBe('an integer, at least 0 (0: no such limit)'))
  @Min(0, mustBe('an integer, at least 0 (0: no such limit)'))
  GENERATIONS_PER_MINUTE: number;

  @int()
  @IsInt(mustBe('an integer, at least 1'))
  @Min(1, mustBe('an integer, at least 1'))
  GENERATIONS_MAX_ACTIVE: number;

  @int()
  @IsInt(mustBe('an integer, at least 1'))
  @Min(1, mustBe('an integer, at least 1'))
  GENERATIONS_MAX_STREAMS: number;

  @int()
  @IsInt(mustBe('a whole number of tokens, at least 0 (0: no budget)'))
  @Min(0, mustBe('a whole number of tokens, at least 0 (0: no budget)'))
  DAILY_TOKEN_BUDGET: number;

  @IsOptional()
  @IsString()
  @MinLength(1)
  BULL_BOARD_USERNAME?: string;

  @IsOptional()
  @IsString()
  @MinLength(1)
  BULL_BOARD_PASSWORD?: string;

  @int()
  @IsInt(mustBe('an integer from 1 to 100'))
  @Min(1, mustBe('an integer from 1 to 100'))
  @Max(100, mustBe('an integer from 1 to 100'))
  WORKER_CONCURRENCY: number;

  @int()
  @IsInt(mustBe('a whole number of seconds from 1 to 300'))
  @Min(1, mustBe('a whole number of seconds from 1 to 300'))
  @Max(300, mustBe('a whole number of seconds from 1 to 300'))
  WORKER_HEARTBEAT_SECONDS: number;

  @int()
  @IsInt(mustBe('an integer from 1 to 20'))
  @Min(1, mustBe('an integer from 1 to 20'))
  @Max(20, mustBe('an integer from 1 to 20'))
  QUEUE_ATTEMPTS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 0'))
  @Min(0, mustBe('a whole number of milliseconds, at least 0'))
  QUEUE_BACKOFF_MS: number;

  @int()
  @IsInt(mustBe('an integer, at least 0'))
  @Min(0, mustBe('an integer, at least 0'))
  QUEUE_KEEP_COMPLETED: number;

  @int()
  @IsInt(mustBe('an integer, at least 0'))
  @Min(0, mustBe('an integer, at least 0'))
  QUEUE_KEEP_FAILED: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 100'))
  @Min(100, mustBe('a whole number of milliseconds, at least 100'))
  JOB_TIMEOUT_MS: number;

  @int()
  @IsInt(mustBe('a whole number of days, at least 0'))
  @Min(0, mustBe('a whole number of days, at least 0'))
  GENERATION_RETENTION_DAYS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 0'))
  @Min(0, mustBe('a whole number of milliseconds, at least 0'))
  SHUTDOWN_TIMEOUT_MS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 0'))
  @Min(0, mustBe('a whole number of milliseconds, at least 0'))
  SHUTDOWN_DRAIN_DELAY_MS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 100'))
  @Min(100, mustBe('a whole number of milliseconds, at least 100'))
  QUEUE_LOCK_DURATION_MS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 100'))
  @Min(100, mustBe('a whole number of milliseconds, at least 100'))
  QUEUE_STALLED_INTERVAL_MS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds from 50 to 60000'))
  @Min(50, mustBe('a whole number of milliseconds from 50 to 60000'))
  @Max(60000, mustBe('a whole number of milliseconds from 50 to 60000'))
  HEALTH_CHECK_TIMEOUT_MS: number;

  @Transform(({ value }) => toNumber(value))
  @IsNumber({}, mustBe('a fraction above 0 and at most 1, such as 0.9'))
  @Min(0.01, mustBe('a fraction above 0 and at most 1, such as 0.9'))
  @Max(1, mustBe('a fraction above 0 and at most 1, such as 0.9'))
  HEALTH_DISK_THRESHOLD_PERCENT: number;

  @int()
  @IsInt(mustBe('a whole number of megabytes, at least 16'))
  @Min(16, mustBe('a whole number of megabytes, at least 16'))
  HEALTH_MEMORY_RSS_THRESHOLD_MB: number;

  @IsIn(GENAI_PROVIDER_NAMES, mustBe(GENAI_PROVIDER_NAMES.join(' or ')))
  GENAI_PROVIDER: GenAiProviderName;

  @IsOptional()
  @Matches(/^ *[\x21-\x2B\x2D-\x7E]{1,128}( *, *[\x21-\x2B\x2D-\x7E]{1,128})* *$/, {
    message: 'GENAI_MODELS must be a comma-separated list of model names',
  })
  GENAI_MODELS?: string;

  @int()
  @IsInt(mustBe('a whole number of tokens from 1 to 4096'))
  @Min(1, mustBe('a whole number of tokens from 1 to 4096'))
  @Max(4096, mustBe('a whole number of tokens from 1 to 4096'))
  GENAI_DEFAULT_MAX_TOKENS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 0'))
  @Min(0, mustBe('a whole number of milliseconds, at least 0'))
  LOCAL_PROVIDER_DELAY_MS: number;

  @bool()
  @IsBoolean(mustBe('true or false'))
  DOCS_ENABLED: boolean;

  @IsUrlWithProtocol(['http', 'https'], mustBe('an http:// or https:// URL'))
  OPENAI_BASE_URL: string;

  @ValidateIf(
    (env: EnvironmentVariables) =>
      env.GENAI_PROVIDER === 'openai' && env.ENVIRONMENT === 'production',
  )
  @IsString({ message: 'OPENAI_API_KEY is required in production when GENAI_PROVIDER is openai' })
  @MinLength(1, {
    message: 'OPENAI_API_KEY is required in production when GENAI_PROVIDER is openai',
  })
  OPENAI_API_KEY?: string;

  @IsString()
  @MinLength(1, mustBe('a model name'))
  OPENAI_MODEL: string;

  @int()
  @IsInt(mustBe('a whole number of milliseconds, at least 100'))
  @Min(100, mustBe('a whole number of milliseconds, at least 100'))
  OPENAI_TIMEOUT_MS: number;

  @bool()
  @IsBoolean(mustBe('true or false'))
  METRICS_ENABLED: boolean;

  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters long' })
  METRICS_TOKEN?: string;

  /** Checked in `load-config.ts` (never echoed): `whsec_` + base64, several during a rotation. */
  @IsOptional()
  @IsString()
  WEBHOOK_SECRET?: string;

  @int()
  @IsInt(mustBe('an integer from 1 to 20'))
  @Min(1, mustBe('an integer from 1 to 20'))
  @Max(20, mustBe('an integer from 1 to 20'))
  WEBHOOK_ATTEMPTS: number;

  @int()
  @IsInt(mustBe('a whole number of milliseconds from 100 to 3600000'))
  @Min(100, mustBe('a whole number of milliseconds from 100 to 3600000'))
  @Max(3_600_000, mustBe('a whole number of milliseconds from 100 to 3600000'))
  WEBHOOK_BACKOFF_MS: number;

  @bool()
  @IsBoolean(mustBe('true or false'))
  WEBHOOK_ALLOW_PRIVATE: boolean;

  @ValidateIf((env: EnvironmentVariables) => env.WEBHOOK_DNS_SERVERS !== undefined)
  @IsHostPortList(mustBe('a comma-separated list of DNS servers as host:port'))
  WEBHOOK_DNS_SERVERS?: string;
}
