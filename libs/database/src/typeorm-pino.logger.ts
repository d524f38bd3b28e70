import { getLogger } from '@app/logging';
import type { Logger as TypeOrmLogger } from 'typeorm';

type Parameters = unknown[] | Record<string, unknown> | undefined;

function parameterCount(parameters: Parameters): number {
  if (!parameters) return 0;
  return Array.isArray(parameters) ? parameters.length : Object.keys(parameters).length;
}

/**
 * TypeORM's logger, written through pino: queries at debug, slow ones at warn with their
 * duration, failures at error. Parameters carry user data, so only their count is logged.
 */
export class TypeOrmPinoLogger implements TypeOrmLogger {
  private readonly logger = getLogger('Database');

  logQuery(query: string, parameters?: Parameters): void {
    this.logger.debug({ query, parameterCount: parameterCount(parameters) }, 'query');
  }

  logQueryError(error: string | Error, query: string, parameters?: Parameters): void {
    const err = typeof error === 'string' ? new Error(error) : error;
    this.logger.error(
      { err: withoutParameters(err), query, parameterCount: parameterCount(parameters) },
      'query failed',
    );
  }

  logQuerySlow(time: number, query: string, parameters?: Parameters): void {
    this.logger.warn(
      { durationMs: time, query, parameterCount: parameterCount(parameters) },
      'slow query',
    );
  }

  logSchemaBuild(message: string): void {
    this.logger.info(message);
  }

  logMigration(message: string): void {
    this.logger.info(message);
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    if (level === 'warn') this.logger.warn(text);
    else this.logger.debug(text);
  }
}

/** QueryFailedError carries the parameters; strip them before the error is serialized. */
function withoutParameters(error: Error): Error {
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error &
    Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(error)) {
    if (key === 'parameters' || key === 'driverError') continue;
    copy[key] = (error as unknown as Record<string, unknown>)[key];
  }
  return copy;
}
