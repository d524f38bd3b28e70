import 'reflect-metadata';
import { assertDatabaseAvailable } from '@app/database';
import { enableGracefulShutdown, failStartup, startProcess } from '@app/lifecycle';
import { NestPinoLogger, getLogger } from '@app/logging';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module';

async function bootstrap(): Promise<void> {
  const config = startProcess('worker');
  try {
    await assertDatabaseAvailable(config.database.url);
    const app = await NestFactory.createApplicationContext(WorkerModule, { bufferLogs: true });
    app.useLogger(app.get(NestPinoLogger));
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
