import { AppConfig } from '@app/config';
import { AppException, PROBLEM_CONTENT_TYPE, errorMessage, problemDetails } from '@app/exceptions';
import { getLogger } from '@app/logging';
import { QueueRegistry } from '@app/queue';
import { BanList, clientIp, securityEvent } from '@app/security';
import { createBullBoard } from '@bull-board/api';
import { BullAdapter } from '@bull-board/api/bullAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { INestApplication } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import basicAuth from 'express-basic-auth';

export const DASHBOARD_PATH = '/admin/queues';

/** Bull Board's page needs its own stylesheet rules (inline styles, Google Fonts). */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com",
  "font-src 'self' data: https://fonts.gstatic.com",
  "img-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const logger = getLogger('Dashboard');

/** Production serves the dashboard only behind credentials; elsewhere it may be open. */
export function dashboardEnabled(config: AppConfig): boolean {
  return Boolean(config.bullBoard.username && config.bullBoard.password) || !config.isProduction;
}

/**
 * Bull Board at /admin/queues: every queue, its jobs, retry/clean actions. HTTP Basic with
 * BULL_BOARD_USERNAME/PASSWORD (constant-time compare) guards the page, its assets and its JSON
 * API alike; failures are `dashboard_auth_failed` events. In production without credentials the
 * path does not exist (404); in development it is open and a warning says so.
 */
export function mountBullBoard(app: INestApplication, config: AppConfig): boolean {
  const { username, password } = config.bullBoard;
  if (!dashboardEnabled(config)) {
    logger.warn(
      'Bull Board is disabled: set BULL_BOARD_USERNAME and BULL_BOARD_PASSWORD to enable it',
    );
    return false;
  }
  if (!username || !password)
    logger.warn(`Bull Board at ${DASHBOARD_PATH} is open without credentials (development only)`);

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: app
      .get(QueueRegistry)
      .all()
      .map((queue) => new BullAdapter(queue)),
    serverAdapter,
  });

  const guards = username && password ? [basicAuthGuard(username, password, app.get(BanList))] : [];
  // Its adapter builds an Express app of its own: no X-Powered-By there either
  const board = serverAdapter.getRouter() as { disable?: (setting: string) => void };
  board.disable?.('x-powered-by');
  app.use(DASHBOARD_PATH, ...guards, problemAnswers, board);
  return true;
}

/** The dashboard's JSON API answers errors as `{error, message}`: they become problem details. */
function problemAnswers(req: Request, res: Response, next: NextFunction): void {
  const json = res.json.bind(res);
  res.json = (body: unknown) => {
    if (res.statusCode < 400) return json(body);
    res.type(PROBLEM_CONTENT_TYPE);
    return json(
      problemDetails({
        status: res.statusCode,
        instance: req.originalUrl,
        requestId: req.id === undefined ? undefined : String(req.id),
      }),
    );
  };
  next();
}

/** HTTP Basic over the whole dashboard, compared in constant time (express-basic-auth's). */
function basicAuthGuard(username: string, password: string, bans: BanList) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
    const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
    const separator = decoded.indexOf(':');
    const user = separator >= 0 ? decoded.slice(0, separator) : '';
    const pass = separator >= 0 ? decoded.slice(separator + 1) : '';
    // Both comparisons always run: no early exit to time.
    const userOk = basicAuth.safeCompare(user, username);
    const passOk = basicAuth.safeCompare(pass, password);
    if (match && userOk && passOk) return next();
    const ip = clientIp(req);
    securityEvent(
      'dashboard_auth_failed',
      {
        ip,
        path: req.originalUrl.split('?')[0],
        reason: match ? 'wrong credentials' : 'no credentials',
      },
      'dashboard access denied',
    );
    // A wrong guess counts toward the IP's ban; a browser's first, credential-less request does not.
    const counted = match ? bans.recordFailedCredential(ip) : Promise.resolve();
    const denied = (): void =>
      next(
        new AppException(
          401,
          errorMessage('authenticating dashboard access', 'valid credentials are required'),
          {
            headers: { 'WWW-Authenticate': 'Basic realm="Bull Board", charset="UTF-8"' },
          },
        ),
      );
    void counted.then(denied);
  };
}
