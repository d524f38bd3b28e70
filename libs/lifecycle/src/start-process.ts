import { AppConfig, ServiceName, loadConfigOrExit } from '@app/config';
import { installProcessErrorHandlers } from '@app/exceptions';
import {
  LogDirectoryError,
  closeLoggers,
  createLoggers,
  getLogger,
  installLoggers,
} from '@app/logging';

/** Errors whose message is the whole story: start-up prints that one line, no stack. */
const KNOWN_STARTUP_ERRORS = ['DatabaseUnavailableError', 'LogDirectoryError'];

/**
 * The first lines of every entry point, and the one place a process says what it is:
 * configuration loaded and validated once (or one line per problem and exit 1), then the log
 * folder and loggers (or one line naming the folder and exit 1). The returned config is what
 * the process's Nest module is built with.
 */
export function startProcess(service: ServiceName): AppConfig {
  const config = loadConfigOrExit(service);
  try {
    installLoggers(createLoggers(config));
  } catch (error) {
    if (!(error instanceof LogDirectoryError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  installProcessErrorHandlers();
  return config;
}

/**
 * Ends start-up that failed: a known cause is one line (where, and what to do); anything else
 * is logged with its stack for the errors log. Logs are flushed, then exit 1.
 */
export async function failStartup(error: unknown, context = 'Bootstrap'): Promise<never> {
  const logger = getLogger(context);
  if (error instanceof Error && KNOWN_STARTUP_ERRORS.includes(error.name)) {
    logger.fatal(error.message);
  } else {
    logger.fatal({ err: error }, 'Error starting the process: unexpected failure');
  }
  await closeLoggers();
  process.exit(1);
}
