import { AppConfig } from '@app/config';
import { requestContextMiddleware } from '@app/logging';
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
export async function createApiApp(config: AppConfig): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(ApiModule, {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(NestPinoLogger));
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
  app.use(requestContextMiddleware());
  app.use(jsonBody(config.http.bodyLimit));
  return app;
}

/** express.json whose callback stays in the request's AsyncLocalStorage context. */
function jsonBody(limit: string) {
  const parse = json({ limit, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction): void =>
    parse(req, res, AsyncResource.bind(next));
}
