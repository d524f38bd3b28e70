import { AppConfig } from '@app/config';
import { NestPinoLogger, requestContextMiddleware } from '@app/logging';
import { Module, ModuleMetadata, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { ApiModule } from './api.module';
import { answerClientErrors } from './http/client-error.handler';
import { jsonBody } from './http/json-body.middleware';

/**
 * Builds the api exactly as production runs it (main.ts and the e2e tests share this): the
 * request context comes first so that every response — also one rejected while parsing the
 * body — has a request id and an access line; the JSON parser comes after it (Nest's own is off).
 */
export async function createApiApp(
  config: AppConfig,
  extraImports: ModuleImport[] = [],
): Promise<NestExpressApplication> {
  const root = extraImports.length > 0 ? withImports(ApiModule, extraImports) : ApiModule;
  const app = await NestFactory.create<NestExpressApplication>(root, {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(NestPinoLogger));
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
  app.use(requestContextMiddleware());
  app.use(jsonBody(config.http.bodyLimit));
  answerClientErrors(app.getHttpServer());
  return app;
}

type ModuleImport = NonNullable<ModuleMetadata['imports']>[number];

/** The api plus more modules (the e2e tests add test-only routes this way; the app never does). */
function withImports(base: Type, imports: ModuleImport[]): Type {
  @Module({ imports: [base, ...imports] })
  class ApiWithExtras {}
  return ApiWithExtras;
}
