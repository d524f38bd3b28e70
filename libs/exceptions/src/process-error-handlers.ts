import { closeLoggers, getLogger } from '@app/logging';

const logger = getLogger('Process');
let installed = false;

/**
 * An unhandled rejection or uncaught exception leaves the process in an unknown state: log it as
 * fatal (with its stack, to errors.log), flush the logs, and exit non-zero so the orchestrator
 * restarts it.
 */
export function installProcessErrorHandlers(): void {
  if (installed) return;
  installed = true;
  const die = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `Error running process: ${kind}; exiting`);
    void closeLoggers().finally(() => process.exit(1));
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled promise rejection'));
}
