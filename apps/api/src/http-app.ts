import { AppConfig } from '@app/config';
import { requestContextMiddleware } from '@app/logging';
import { Module, ModuleMetadata, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { json } from 'express';
import { AsyncResource } from 'node:async_hooks';
import type { NextFunction, Request, Response } from 'express';
import { ApiModule } from './api.module';
import { NestPinoLogger } from '@app/logging';

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
  return app;
}

type ModuleImport = NonNullable<ModuleMetadata['imports']>[number];

/** The api plus more modules (the e2e tests add test-only routes this way; the app never does). */
function withImports(base: Type, imports: ModuleImport[]): Type {
  @Module({ imports: [base, ...imports] })
  class ApiWithExtras {}
  return ApiWithExtras;
}

/** express.json whose callback stays in the request's AsyncLocalStorage context. */
function jsonBody(limit: string) {
  const parse = json({ limit, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction): void =>
    parse(req, res, AsyncResource.bind(next));
}
