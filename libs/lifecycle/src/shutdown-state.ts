import { Injectable } from '@nestjs/common';

/** Whether this process has begun to shut down; readiness answers 503 from that moment. */
@Injectable()
export class ShutdownState {
  private startedAt?: Date;

  begin(): void {
    this.startedAt ??= new Date();
  }

  get isShuttingDown(): boolean {
    return this.startedAt !== undefined;
  }
}
