import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

/**
 * Every queue this process registered through `QueueModule.forFeature`: what the dashboard
 * lists, the health report and the metrics count, and the worker's heartbeat announces. The
 * platform's libs know no queue by name; each feature registers its own.
 */
@Injectable()
export class QueueRegistry {
  private readonly queues = new Map<string, Queue>();

  add(queues: Queue[]): void {
    for (const queue of queues) this.queues.set(queue.name, queue);
  }

  all(): Queue[] {
    return [...this.queues.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  names(): string[] {
    return this.all().map((queue) => queue.name);
  }
}
