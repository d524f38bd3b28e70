import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { plainToInstance } from 'class-transformer';
import { ValidationError, validateSync } from 'class-validator';
import { parse as parseDotenv } from 'dotenv';
import {
  AppConfig,
  ServiceName,
  redisDatabaseOf,
  toAppConfig,
  webhookSecretsOf,
} from './app-config';
import { ConfigValidationError } from './config-validation.error';
import { DEFAULTS, ENVIRONMENT_DEFAULTS, KNOWN_VARIABLES, KEEPS_EMPTY_VALUE } from './defaults';
import { ENVIRONMENTS, Environment, EnvironmentVariables } from './environment-variables';

type RawEnvironment = Record<string, string | undefined>;

/** Production's shortest BULL_BOARD_PASSWORD. */
const MIN_SECRET_LENGTH = 16;

export interface LoadConfigOptions {
  /** Where to look for `.env`; the working directory by default. */
  envFilePath?: string;
  /** The process the configuration is for; operator commands (`cli`) when not said. */
  service?: ServiceName;
}

/**
 * Reads every variable of the specification once: `.env` (outside production), `NAME_FILE`
 * indirection, defaults that depend on the environment, then class-validator. Throws a
 * `ConfigValidationError` carrying one line per problem.
 */
export function loadConfig(
  env: RawEnvironment = process.env,
  options: LoadConfigOptions = {},
): AppConfig {
  const problems: string[] = [];
  const merged = withDotenv(env, options.envFilePath ?? resolve(process.cwd(), '.env'), problems);
  const resolved = resolveFileIndirection(merged, problems);
  const environment = pickEnvironment(resolved);
  const raw = applyDefaults(resolved, environment);

  const instance = plainToInstance(EnvironmentVariables, raw);
  const errors = validateSync(instance, { forbidUnknownValues: false });
  problems.push(...errors.flatMap(describeValidationError));
  problems.push(...crossFieldProblems(instance));

  if (problems.length > 0) throw new ConfigValidationError(problems);
  return toAppConfig(instance, options.service ?? 'cli');
}

function withDotenv(env: RawEnvironment, path: string, problems: string[]): RawEnvironment {
  if (pickEnvironment(env) === 'production' || !existsSync(path)) return env;
  try {
    const fromFile = parseDotenv(readFileSync(path));
    // The real environment always wins over the file.
    return { ...fromFile, ...env };
  } catch (error) {
    problems.push(`.env: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return env;
  }
}

function resolveFileIndirection(env: RawEnvironment, problems: string[]): RawEnvironment {
  const resolved: RawEnvironment = { ...env };
  for (const name of KNOWN_VARIABLES) {
    const filePath = env[`${name}_FILE`];
    if (filePath === undefined) continue;
    if (env[name] !== undefined) {
      problems.push(`${name}: give either ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      resolved[name] = readFileSync(filePath, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`${name}_FILE: cannot read ${filePath} (${code})`);
    }
  }
  return resolved;
}

function pickEnvironment(env: RawEnvironment): Environment | string {
  const value = env.ENVIRONMENT?.trim() || env.NODE_ENV?.trim() || 'development';
  return value;
}

function applyDefaults(env: RawEnvironment, environment: string): Record<string, unknown> {
  const knownEnvironment = (ENVIRONMENTS as readonly string[]).includes(environment)
    ? (environment as Environment)
    : 'development';
  const defaults: Record<string, string> = {
    ...DEFAULTS,
    ...ENVIRONMENT_DEFAULTS[knownEnvironment],
  };
  const raw: Record<string, unknown> = { ENVIRONMENT: environment };
  for (const name of KNOWN_VARIABLES) {
    if (name === 'ENVIRONMENT') continue;
    const value = env[name];
    const isUnset = value === undefined || (value.trim() === '' && !KEEPS_EMPTY_VALUE.has(name));
    raw[name] = isUnset ? defaults[name] : value;
  }
  return raw;
}

function crossFieldProblems(env: EnvironmentVariables): string[] {
  const problems: string[] = [];
  if (Boolean(env.BULL_BOARD_USERNAME) !== Boolean(env.BULL_BOARD_PASSWORD)) {
    problems.push('BULL_BOARD_USERNAME and BULL_BOARD_PASSWORD must be set together');
  }
  // A guessable password would guard the production dashboard (METRICS_TOKEN's length is
  // checked everywhere by its own rule).
  const password = env.BULL_BOARD_PASSWORD;
  if (env.ENVIRONMENT === 'production' && password && password.length < MIN_SECRET_LENGTH) {
    problems.push(
      `BULL_BOARD_PASSWORD must be at least ${MIN_SECRET_LENGTH} characters in production`,
    );
  }
  problems.push(...redisModeProblems(env));
  if (env.WEBHOOK_SECRET !== undefined && webhookSecretsOf(env.WEBHOOK_SECRET) === undefined) {
    // never echoed: the value is a secret
    problems.push(
      'WEBHOOK_SECRET must be whsec_ followed by the base64 of 24 to 64 random bytes (several, separated by spaces, during a rotation)',
    );
  }
  return problems;
}

/** Which Redis the settings describe must be one, and complete (SPEC §13). */
function redisModeProblems(env: EnvironmentVariables): string[] {
  const problems: string[] = [];
  if (env.REDIS_SENTINELS && env.REDIS_CLUSTER_NODES) {
    problems.push('REDIS_SENTINELS and REDIS_CLUSTER_NODES: set one Redis mode, not both');
  }
  if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME) {
    problems.push('REDIS_SENTINEL_NAME must name the Sentinel master when REDIS_SENTINELS is set');
  }
  if (env.REDIS_CLUSTER_NODES && typeof env.REDIS_URL === 'string') {
    const db = redisDatabaseOf(env.REDIS_URL);
    if (db !== undefined && db !== 0) {
      problems.push(
        `REDIS_URL must name database 0 or none in Cluster mode (REDIS_CLUSTER_NODES is set; got ${db})`,
      );
    }
  }
  if (env.REDIS_TLS_CA_FILE) {
    try {
      readFileSync(env.REDIS_TLS_CA_FILE);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
      problems.push(`REDIS_TLS_CA_FILE: cannot read ${env.REDIS_TLS_CA_FILE} (${code})`);
    }
  }
  return problems;
}

function describeValidationError(error: ValidationError): string[] {
  const messages = Object.values(error.constraints ?? {});
  // One line per variable: the first constraint that failed says what is expected.
  return messages.length > 0 ? [messages[0]] : [`${error.property} is invalid`];
}
