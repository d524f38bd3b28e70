import { getLogger } from '@app/logging';
import { runJob } from '@app/queue';
import { BullModule, Process, Processor } from '@nestjs/bull';
import { DynamicModule, Module } from '@nestjs/common';
import type { Job } from 'bull';

export const PROBE_QUEUE = 'probe-jobs';

const logger = getLogger('ProbeJobProcessor');

@Processor(PROBE_QUEUE)
class ProbeJobProcessor {
  @Process()
  async handle(job: Job<{ marker: string; sleepMs?: number }>): Promise<void> {
    await runJob(job, async () => {
      logger.info({ marker: job.data.marker }, 'probe job started');
      await new Promise((resolve) => setTimeout(resolve, job.data.sleepMs ?? 10));
      if (job.data.marker.startsWith('fail'))
        throw new Error(`probe job failed: ${job.data.marker}`);
      logger.info({ marker: job.data.marker }, 'probe job finished');
    });
  }
}

/** A test-only queue: the api side queues into it, the worker side consumes it. */
@Module({})
export class ProbeJobsModule {
  static forApi(): DynamicModule {
    const queue = BullModule.registerQueue({ name: PROBE_QUEUE });
    return { module: ProbeJobsModule, imports: [queue], exports: [queue] };
  }

  static forWorker(): DynamicModule {
    return {
      module: ProbeJobsModule,
      imports: [BullModule.registerQueue({ name: PROBE_QUEUE })],
      providers: [ProbeJobProcessor],
    };
  }
}
