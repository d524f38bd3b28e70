import '../../../apps/worker/src/instrumentation';
import 'reflect-metadata';
import { enableGracefulShutdown, failStartup, startProcess } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { createWorkerApp } from '../../../apps/worker/src/worker-app';
import { ProbeJobsModule } from './probe-jobs.module';

/** The real worker plus a test-only queue and processor (never shipped). */
async function bootstrap(): Promise<void> {
  const config = startProcess('worker');
  try {
    const app = await createWorkerApp(config, [ProbeJobsModule.forWorker()]);
    enableGracefulShutdown(app, config.shutdown);
    await app.init();
    getLogger('Bootstrap').info('worker started; consuming queues');
  } catch (error) {
    await failStartup(error);
  }
}

void bootstrap();
