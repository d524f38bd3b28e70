import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Observable, finalize } from 'rxjs';

/**
 * Counts route handlers still running. A handler can outlive its connection (the client hung
 * up), and closing the server only waits for connections: shutdown waits for these too before
 * the pools close under them.
 */
@Injectable()
export class InFlightRequests implements NestInterceptor {
  private running = 0;
  private waiters: Array<() => void> = [];

  get count(): number {
    return this.running;
  }

  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.running += 1;
    return next.handle().pipe(
      finalize(() => {
        this.running -= 1;
        if (this.running === 0) this.waiters.splice(0).forEach((resolve) => resolve());
      }),
    );
  }

  /** Resolves when no handler runs (at once if none does). */
  drained(): Promise<void> {
    return this.running === 0
      ? Promise.resolve()
      : new Promise((resolve) => this.waiters.push(resolve));
  }
}
