import type { NextFunction, Request, Response } from 'express';
import { ShutdownState } from './shutdown-state';

/**
 * During the drain delay every response asks its client to close the connection, so no idle
 * keep-alive connection is left for the server to cut when it stops accepting: clients reconnect
 * (to another replica once readiness has taken this one out of rotation).
 */
export function closeConnectionsWhileDraining(state: ShutdownState) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (state.isShuttingDown) res.setHeader('Connection', 'close');
    next();
  };
}
