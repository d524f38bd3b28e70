import './instrumentation';
import 'reflect-metadata';
import { assertDatabaseAvailable } from '@app/database';
import { enableGracefulShutdown, failStartup, startProcess } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { createWorkerApp } from './worker-app';

async function bootstrap(): Promise<void> {
  const config = startProcess('worker');
  try {
    await assertDatabaseAvailable(config.database.url);
    const app = await createWorkerApp(config);
    enableGracefulShutdown(app, config.shutdown);
    await app.init();
    getLogger('Bootstrap').info(
      { concurrency: config.worker.concurrency },
      'worker started; consuming queues',
    );
  } catch (error) {
    await failStartup(error);
  }
}

void bootstrap();
