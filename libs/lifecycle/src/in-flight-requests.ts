import { Injectable } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

/**
 * Counts requests still being worked on. A request can outlive its connection — the client hung
 * up while a middleware waited on Redis, or while its handler ran — and closing the server only
 * waits for connections: shutdown waits for these too before the pools close under them.
 * `track`, the api's first middleware, counts a request until the app ends its response (an
 * Express middleware rather than a Nest interceptor: it sees requests refused before routing, and
 * costs no interceptor pipeline per request).
 */
@Injectable()
export class InFlightRequests {
  private running = 0;
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.running;
  }

  readonly track = (_req: Request, res: Response, next: NextFunction): void => {
    this.running += 1;
    const end = res.end;
    let ended = false;
    res.end = ((...args: Parameters<Response['end']>) => {
      if (!ended) {
        ended = true;
        this.leave();
      }
      return end.apply(res, args);
    }) as Response['end'];
    next();
  };

  /** Resolves when no request is in flight (at once if none is). */
  drained(): Promise<void> {
    return this.running === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.waiters.push(resolve));
  }

  private leave(): void {
    this.running -= 1;
    if (this.running === 0) this.waiters.splice(0).forEach((resolve) => resolve());
  }
}
