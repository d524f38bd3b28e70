import './instrumentation';
import 'reflect-metadata';
import { assertDatabaseAvailable, setupDatabase } from '@app/database';
import { failStartup, startProcess } from '@app/lifecycle';
import { closeLoggers, getLogger } from '@app/logging';
import { shutdownTracing } from '@app/tracing';
import { REDIS_CLIENT, RedisClient, waitUntilReady } from '@app/redis';
import { AppConfig } from '@app/config';
import {
  ApiKeyService,
  BanList,
  KeyLimitOverrides,
  USER_ID_PATTERN,
  apiKeyStatus,
  normalizeIp,
  securityEvent,
} from '@app/security';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { PLATFORM_SCHEMA } from '../database/schema';
import { CliModule } from './cli.module';

/** How long a command that needs Redis waits for the connection before giving up. */
const REDIS_READY_TIMEOUT_MS = 10000;

/** A mistake in the command line: one line on stderr, exit 2. */
class UsageError extends Error {}

type Command = (args: string[]) => Promise<string | undefined>;

/** The per-key limit flags of apikey:create and apikey:update, and the columns they set. */
const LIMIT_FLAGS = {
  'rate-limit': 'rateLimitPerMinute',
  'generations-per-minute': 'generationsPerMinute',
  'max-active': 'maxActiveGenerations',
  'daily-tokens': 'dailyTokenBudget',
} as const satisfies Record<string, keyof KeyLimitOverrides>;
type LimitFlag = keyof typeof LIMIT_FLAGS;
const LIMIT_OPTIONS = Object.fromEntries(
  Object.keys(LIMIT_FLAGS).map((flag) => [flag, { type: 'string' as const }]),
) as Record<LimitFlag, { type: 'string' }>;
const MAX_LIMIT = 2_147_483_647;

/**
 * The limits given on the command line: a whole number (0 switches a per-minute limit or the
 * token budget off for this key; `--max-active` is at least 1), or `none` to go back to the
 * default (apikey:update only).
 */
function limitOverrides(
  values: Partial<Record<LimitFlag, string>>,
  allowNone: boolean,
): KeyLimitOverrides {
  const overrides: KeyLimitOverrides = {};
  for (const [flag, column] of Object.entries(LIMIT_FLAGS) as Array<
    [LimitFlag, keyof KeyLimitOverrides]
  >) {
    const value = values[flag];
    if (value === undefined) continue;
    if (allowNone && value === 'none') {
      overrides[column] = null;
      continue;
    }
    // 0 switches a rate or the token budget off for this key; a key always may run one at once
    const min = flag === 'max-active' ? 1 : 0;
    const number = /^\d{1,10}$/.test(value) ? Number(value) : NaN;
    if (!(number >= min && number <= MAX_LIMIT)) {
      throw new UsageError(
        `--${flag} must be a whole number from ${min} to ${MAX_LIMIT}${allowNone ? ', or none for the default' : ''}`,
      );
    }
    overrides[column] = number;
  }
  return overrides;
}

/** A key's limit as apikey:list shows it: its own value, or `default (N)`. */
function shownLimit(own: number | null, effective: number): string {
  return own === null ? `default (${effective})` : String(own);
}

async function withContext<T>(run: (app: INestApplicationContext) => Promise<T>): Promise<T> {
  const config = startProcess('cli');
  await assertDatabaseAvailable(config.database.url);
  const app = await NestFactory.createApplicationContext(CliModule.forRoot(config), {
    logger: false,
    abortOnError: false,
  });
  try {
    return await run(app);
  } finally {
    await app.close();
  }
}

/**
 * Operator commands (`npm run db:setup`, `apikey:*`, `security:unban`): same configuration as
 * the apps, logs as service `cli` (admin actions to its security.log). What a person needs is on
 * stdout; a command that prints a secret prints it alone on the last line.
 */
const COMMANDS: Record<string, Command> = {
  'db:setup': async () => {
    await setupDatabase(startProcess('cli'), PLATFORM_SCHEMA);
    return undefined;
  },

  'apikey:create': async (args) => {
    const { values } = parseArgs({
      args,
      options: {
        user: { type: 'string' },
        name: { type: 'string' },
        admin: { type: 'boolean', default: false },
        'expires-in': { type: 'string' },
        ...LIMIT_OPTIONS,
      },
      strict: true,
    });
    const limits = limitOverrides(values, false);
    if (!values.user || !USER_ID_PATTERN.test(values.user)) {
      throw new UsageError('--user is required: 1 to 128 characters of A-Za-z0-9._@-');
    }
    if (values.name !== undefined && (values.name.length < 1 || values.name.length > 128)) {
      throw new UsageError('--name must be 1 to 128 characters');
    }
    const expiresIn = values['expires-in'];
    if (expiresIn !== undefined && !/^[1-9]\d{0,4}$/.test(expiresIn)) {
      throw new UsageError('--expires-in must be a whole number of days from 1 to 99999');
    }
    return withContext(async (app) => {
      const { key, record } = await app.get(ApiKeyService).create({
        userId: values.user as string,
        name: values.name,
        admin: values.admin,
        expiresInDays: expiresIn === undefined ? undefined : Number(expiresIn),
        limits,
      });
      securityEvent(
        'apikey_created',
        {
          keyId: record.id,
          keyPrefix: record.prefix,
          userId: record.userId,
          admin: record.admin,
          limits,
        },
        `API key ${record.prefix} created for ${record.userId}`,
      );
      process.stdout.write(
        `Created API key ${record.prefix} (id ${record.id}) for user ${record.userId}` +
          `${record.admin ? ', admin' : ''}${record.expiresAt ? `, expires ${record.expiresAt.toISOString()}` : ''}.\n` +
          'Store it now: it is shown only once.\n',
      );
      return key;
    });
  },

  'apikey:list': async () =>
    withContext(async (app) => {
      const service = app.get(ApiKeyService);
      const keys = await service.list();
      const rows = keys.map((key) => {
        const limits = service.limitsOf(key);
        return [
          key.id,
          key.prefix,
          key.userId,
          key.name,
          key.admin ? 'admin' : '-',
          apiKeyStatus(key),
          key.expiresAt?.toISOString() ?? '-',
          key.lastUsedAt?.toISOString() ?? 'never',
          shownLimit(key.rateLimitPerMinute, limits.perMinute),
          shownLimit(key.generationsPerMinute, limits.generationsPerMinute),
          shownLimit(key.maxActiveGenerations, limits.maxActive),
          shownLimit(key.dailyTokenBudget, limits.dailyTokens),
        ].join('\t');
      });
      const header = [
        'id',
        'prefix',
        'user',
        'name',
        'role',
        'status',
        'expires',
        'last used',
        'rate limit/min',
        'generations/min',
        'max active',
        'daily tokens',
      ].join('\t');
      process.stdout.write([header, ...rows].join('\n') + '\n');
      return undefined;
    }),

  'apikey:update': async (args) => {
    const { values, positionals } = parseArgs({
      args,
      options: LIMIT_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    const [target, ...extra] = positionals;
    if (!target || extra.length > 0) throw new UsageError('give the key id or prefix to update');
    const limits = limitOverrides(values, true);
    if (Object.keys(limits).length === 0) {
      throw new UsageError(
        `give at least one of ${Object.keys(LIMIT_FLAGS)
          .map((flag) => `--${flag}`)
          .join(', ')}`,
      );
    }
    return withContext(async (app) => {
      const service = app.get(ApiKeyService);
      const updated = await service.updateLimits(target, limits);
      if (!updated) throw new UsageError(`no active API key with id or prefix ${target}`);
      securityEvent(
        'apikey_updated',
        { keyId: updated.id, keyPrefix: updated.prefix, userId: updated.userId, limits },
        `API key ${updated.prefix} limits changed`,
      );
      const effective = service.limitsOf(updated);
      process.stdout.write(
        `Updated API key ${updated.prefix} (id ${updated.id}): ` +
          `rate limit ${effective.perMinute}/min, generations ${effective.generationsPerMinute}/min, ` +
          `max active ${effective.maxActive}, daily tokens ${effective.dailyTokens || 'no budget'}. ` +
          `Replicas apply it within ${app.get(AppConfig).auth.apiKeyCacheSeconds}s.\n`,
      );
      return undefined;
    });
  },

  'apikey:revoke': async (args) => {
    const target = args[0];
    if (!target || args.length > 1) throw new UsageError('give the key id or prefix to revoke');
    return withContext(async (app) => {
      const revoked = await app.get(ApiKeyService).revoke(target);
      if (!revoked) throw new UsageError(`no active API key with id or prefix ${target}`);
      securityEvent(
        'apikey_revoked',
        { keyId: revoked.id, keyPrefix: revoked.prefix, userId: revoked.userId },
        `API key ${revoked.prefix} revoked`,
      );
      process.stdout.write(`Revoked API key ${revoked.prefix} (id ${revoked.id}).\n`);
      return undefined;
    });
  },

  'security:unban': async (args) => {
    // an address, or an IPv6 prefix as the ban names it (2001:db8:1:2::/64): its client is unbanned
    const [address, prefix, ...rest] = (args[0] ?? '').split('/');
    const validPrefix = prefix === undefined || (isIP(address) === 6 && /^\d{1,3}$/.test(prefix));
    if (!args[0] || args.length > 1 || isIP(address) === 0 || !validPrefix || rest.length > 0) {
      throw new UsageError('give one IP address or IPv6 prefix to unban');
    }
    const ip = normalizeIp(address);
    return withContext(async (app) => {
      await waitUntilReady(app.get<RedisClient>(REDIS_CLIENT), REDIS_READY_TIMEOUT_MS);
      const bans = app.get(BanList);
      const client = bans.clientOf(ip);
      const lifted = await bans.unban(ip);
      securityEvent('ip_unbanned', { ip, client, wasBanned: lifted }, `unbanned ${client}`);
      process.stdout.write(
        lifted
          ? `Lifted the ban on ${client}.\n`
          : `${client} was not banned; its counters are reset.\n`,
      );
      return undefined;
    });
  },
};

async function main(): Promise<void> {
  const [name, ...args] = process.argv.slice(2);
  const command = name ? COMMANDS[name] : undefined;
  if (!command) {
    process.stderr.write(
      `Error running command: unknown command ${JSON.stringify(name ?? '')}; ` +
        `known: ${Object.keys(COMMANDS).join(', ')}\n`,
    );
    process.exit(2);
  }
  try {
    const secret = await command(args);
    await shutdownTracing();
    await closeLoggers();
    // The secret goes last, alone on its line, after every log line has been flushed.
    if (secret !== undefined) process.stdout.write(`${secret}\n`);
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
    ) {
      await closeLoggers();
      process.stderr.write(`Error running ${name}: ${(error as Error).message}\n`);
      process.exit(2);
    }
    getLogger('Cli').error({ err: error }, `Error running ${name}`);
    await failStartup(error, 'Cli');
  }
}

void main();
