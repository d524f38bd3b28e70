import { Logger } from 'pino';
import { appRootLogger } from './root-loggers';

export interface BoundIds {
  requestId?: string;
  userId?: string;
}

type LogFn = {
  (message: string): void;
  (fields: object, message?: string): void;
};

/** The logger interface application code uses (pino's call shapes). */
export interface AppLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
}

/**
 * A logger for `context` (a module or class name), usable anywhere: inside Nest or not, and at
 * module scope before configuration has loaded — it binds to the real destinations lazily, on
 * each call. Inside a request or a job it picks up requestId/userId/jobId/queue by itself;
 * `ids` pins a requestId or userId explicitly.
 */
export function getLogger(context: string, ids: BoundIds = {}): AppLogger {
  let root: Logger | undefined;
  let child: Logger | undefined;
  const resolve = (): Logger => {
    const currentRoot = appRootLogger();
    if (currentRoot !== root || !child) {
      root = currentRoot;
      child = currentRoot.child({ context });
    }
    return child;
  };
  const pinned = Object.fromEntries(Object.entries(ids).filter(([, value]) => value !== undefined));
  const hasPinned = Object.keys(pinned).length > 0;

  const method =
    (level: keyof AppLogger): LogFn =>
    (first: string | object, message?: string) => {
      const logger = resolve();
      if (!logger.isLevelEnabled(level)) return;
      if (typeof first === 'string') {
        if (hasPinned) logger[level](pinned, first);
        else logger[level](first);
        return;
      }
      const fields = first instanceof Error ? { err: first } : first;
      logger[level](hasPinned ? { ...pinned, ...fields } : fields, message);
    };

  return {
    trace: method('trace'),
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
    fatal: method('fatal'),
  };
}
