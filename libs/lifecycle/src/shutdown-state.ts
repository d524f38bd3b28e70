import { Injectable } from '@nestjs/common';

/**
 * Whether this process has begun to shut down; readiness answers 503 from that moment, and
 * whatever must react at once (the worker stops taking jobs) subscribes with `onBegin`.
 */
@Injectable()
export class ShutdownState {
  private startedAt?: Date;
  private readonly listeners: Array<() => void> = [];

  begin(): void {
    if (this.startedAt) return;
    this.startedAt = new Date();
    for (const listener of this.listeners.splice(0)) listener();
  }

  get isShuttingDown(): boolean {
    return this.startedAt !== undefined;
  }

  /** Runs `listener` when shutdown begins (at once if it already has). */
  onBegin(listener: () => void): void {
    if (this.startedAt) listener();
    else this.listeners.push(listener);
  }
}
