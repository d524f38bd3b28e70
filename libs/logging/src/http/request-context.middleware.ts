import type { NextFunction, Request, Response } from 'express';
import { LogContext, runWithLogContext } from '../context/log-context';
import { accessRootLogger } from '../root-loggers';
import { acceptRequestId } from './request-id';

export interface RequestContextOptions {
  /** How the client's address is read (the security lib knows about trusted proxies). */
  clientIp?: (req: Request) => string | undefined;
}

/**
 * The first middleware of the api: gives the request its id (header, error bodies, every log
 * line), opens its AsyncLocalStorage context, and writes its one access.log line when the
 * response ends — also for requests rejected before routing (bad JSON, 413, bans).
 */
export function requestContextMiddleware(options: RequestContextOptions = {}) {
  const clientIp = options.clientIp ?? ((req: Request) => req.ip ?? req.socket.remoteAddress);
  return (req: Request, res: Response, next: NextFunction): void => {
    const requestId = acceptRequestId(req.headers['x-request-id']);
    const context: LogContext = { requestId };
    const startedAt = process.hrtime.bigint();
    // `req.id` is typed by pino-http's augmentation; other middleware reads it.
    req.id = requestId;
    res.setHeader('X-Request-Id', requestId);

    let logged = false;
    const writeAccessLine = (): void => {
      if (logged) return;
      logged = true;
      const durationMs = Number(process.hrtime.bigint() - startedAt) / 1e6;
      accessRootLogger().info(
        {
          method: req.method,
          path: (req.originalUrl ?? req.url).split('?')[0],
          status: res.statusCode,
          durationMs: Math.round(durationMs * 100) / 100,
          ip: clientIp(req),
          userAgent: req.headers['user-agent'],
          contentLength: Number(res.getHeader('content-length') ?? 0),
          requestId,
          userId: context.userId,
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request completed',
      );
    };
    res.once('finish', writeAccessLine);
    res.once('close', writeAccessLine);
    runWithLogContext(context, next);
  };
}
