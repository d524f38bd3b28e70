import { Injectable } from '@nestjs/common';

/**
 * Whether this process has begun to shut down; readiness answers 503 from that moment, and
 * whatever must react at once (the worker stops taking jobs) subscribes with `onBegin`.
 */
@Injectable()
export class ShutdownState {
  private startedAt?: Date;
  private readonly listeners: Array<() => void> = [];
  private drainEnded = false;
  private readonly drainEndListeners = new Set<() => void>();

  begin(): void {
    if (this.startedAt) return;
    this.startedAt = new Date();
    for (const listener of this.listeners.splice(0)) listener();
  }

  get isShuttingDown(): boolean {
    return this.startedAt !== undefined;
  }

  /**
   * The drain delay is over: the server is about to stop accepting. Long-lived responses (event
   * streams) end now, so that closing the server does not wait for them.
   */
  endDrain(): void {
    if (this.drainEnded) return;
    this.drainEnded = true;
    for (const listener of [...this.drainEndListeners]) listener();
    this.drainEndListeners.clear();
  }

  /**
   * Runs `listener` when the drain delay ends (at once if it has); the function returned
   * forgets it (a stream that ended by itself).
   */
  onDrainEnd(listener: () => void): () => void {
    if (this.drainEnded) {
      listener();
      return () => undefined;
    }
    this.drainEndListeners.add(listener);
    return () => this.drainEndListeners.delete(listener);
  }

  /** Runs `listener` when shutdown begins (at once if it already has). */
  onBegin(listener: () => void): void {
    if (this.startedAt) listener();
    else this.listeners.push(listener);
  }
}
