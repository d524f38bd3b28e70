import { AppConfig } from '@app/config';
import { NestPinoLogger } from '@app/logging';
import { INestApplicationContext, Module, ModuleMetadata, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WorkerModule } from './worker.module';

type ModuleImport = NonNullable<ModuleMetadata['imports']>[number];

/**
 * Builds the worker exactly as production runs it (main.ts and the e2e tests share this); the
 * tests may add test-only queues and processors, the app never does.
 */
export async function createWorkerApp(
  config: AppConfig,
  extraImports: ModuleImport[] = [],
): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(
    withImports(WorkerModule.forRoot(config), extraImports),
    { bufferLogs: true, abortOnError: false },
  );
  app.useLogger(app.get(NestPinoLogger));
  return app;
}

function withImports(base: ModuleImport, imports: ModuleImport[]): Type {
  @Module({ imports: [base, ...imports] })
  class Worker {}
  return Worker;
}
