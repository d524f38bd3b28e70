import pino, { Logger } from 'pino';
import { logContextFields } from './context/log-context';
import { Loggers } from './logger-factory';
import { redact } from './redaction/redact';

let current: Loggers | undefined;
let fallback: Logger | undefined;

/** Makes these the loggers every `getLogger` and security event writes to from now on. */
export function installLoggers(loggers: Loggers): void {
  current = loggers;
}

/**
 * Before configuration has loaded (module scope, early start-up, unit tests) and after the
 * destinations were closed at exit, lines go to stderr as JSON — redacted like every other line
 * — so nothing is lost and nothing needs the config.
 */
function fallbackLogger(): Logger {
  fallback ??= pino(
    {
      level: 'info',
      base: { pid: process.pid, service: 'unconfigured' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redact(object) as Record<string, unknown>,
      },
      mixin: () => logContextFields(),
    },
    pino.destination(2),
  );
  return fallback;
}

export function appRootLogger(): Logger {
  return current?.app ?? fallbackLogger();
}

export function securityRootLogger(): Logger {
  return current?.security ?? fallbackLogger();
}

export function accessRootLogger(): Logger {
  return current?.access ?? fallbackLogger();
}

/** Flushes and closes the installed destinations (last step before the process exits). */
export async function closeLoggers(): Promise<void> {
  const loggers = current;
  current = undefined;
  await loggers?.close();
}
