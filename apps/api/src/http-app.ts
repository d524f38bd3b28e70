import { AppConfig } from '@app/config';
import { InFlightRequests, ShutdownState, closeConnectionsWhileDraining } from '@app/lifecycle';
import { NestPinoLogger, requestContextMiddleware } from '@app/logging';
import { MetricsService, RouteTemplates } from '@app/metrics';
import {
  BanList,
  KeyCountedRoutes,
  RateLimitMiddleware,
  apiSecurityHeaders,
  clientIp,
  requestClass,
  securityHeaders,
} from '@app/security';
import { serverSpanMiddleware } from '@app/tracing';
import { Module, ModuleMetadata, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import type { Express } from 'express';
import { ApiModule } from './api.module';
import { answerClientErrors } from './http/client-error.handler';
import { unexpectedExpectation } from './http/expectation.middleware';
import type { Server } from 'node:http';
import { jsonBody } from './http/json-body.middleware';
import { JsonReplyExpressAdapter } from './http/json-reply.adapter';
import { DASHBOARD_CSP, DASHBOARD_PATH, mountBullBoard } from './dashboard/bull-board';
import { DOCS_CSP, DOCS_PATH, mountSwagger } from './docs/swagger';
import { mountLiveness } from './health/liveness.route';

/**
 * Builds the api exactly as production runs it (main.ts and the e2e tests share this). Order
 * matters: HTTP metrics first (they time and count everything), the in-flight count, the
 * request context (every response has a request id and an access line), then
 * security headers (on every response), bans and the rate limit (before any work is done for a
 * client), CORS, and the JSON parser last (Nest's own is off); then the liveness probe, which
 * needs nothing more, and the controllers' routes.
 */
export async function createApiApp(
  config: AppConfig,
  extraImports: ModuleImport[] = [],
): Promise<NestExpressApplication> {
  const root = withImports(ApiModule.forRoot(config), extraImports);
  const app = await NestFactory.create<NestExpressApplication>(
    root,
    new JsonReplyExpressAdapter(),
    {
      bodyParser: false,
      bufferLogs: true,
      abortOnError: false,
    },
  );
  app.useLogger(app.get(NestPinoLogger));
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
  // Every answer is Cache-Control: no-store; hashing each body for an ETag would be wasted work
  app.set('etag', false);
  const express = app.getHttpAdapter().getInstance() as Express;
  const routes = new RouteTemplates(() => express.router.stack, [DASHBOARD_PATH, DOCS_PATH]);
  app.get(KeyCountedRoutes).findRoutesWith((req) => routes.routeOf(req));
  // tracing on: the request's server span wraps everything after it (its logs carry its ids)
  const serverSpans = serverSpanMiddleware();
  if (serverSpans) app.use(serverSpans);
  app.use(app.get(MetricsService).httpMiddleware(routes));
  app.use(app.get(InFlightRequests).track);
  app.use(requestContextMiddleware({ clientIp }));
  app.use(closeConnectionsWhileDraining(app.get(ShutdownState)));
  app.use(
    securityHeaders({
      hsts: config.isProduction,
      pages: [
        { prefix: DASHBOARD_PATH, csp: DASHBOARD_CSP },
        { prefix: DOCS_PATH, csp: DOCS_CSP },
      ],
    }),
  );
  app.use(app.get(RateLimitMiddleware).use);
  app.use(unexpectedExpectation);
  if (config.http.corsOrigins.length > 0) {
    app.enableCors({ origin: config.http.corsOrigins, maxAge: 600 });
  }
  const corsEnabled = config.http.corsOrigins.length > 0;
  app.use(
    jsonBody(
      config.http.bodyLimit,
      (req) => req.path.startsWith(DASHBOARD_PATH) || requestClass(req, corsEnabled) !== 'counted',
    ),
  );
  mountLiveness(app);
  mountBullBoard(app, config);
  mountSwagger(app, config);
  answerClientErrors(app.getHttpServer(), {
    headers: apiSecurityHeaders({ hsts: config.isProduction }),
    bans: app.get(BanList),
  });
  // An unexpected Expect header reaches the app (and its headers, access line and limit)
  // instead of Node's bare 417; `unexpectedExpectation` answers it.
  const server = app.getHttpServer() as Server;
  server.on('checkExpectation', app.getHttpAdapter().getInstance() as Express);
  return app;
}

type ModuleImport = NonNullable<ModuleMetadata['imports']>[number];

/** The api plus more modules (the e2e tests add test-only routes this way; the app never does). */
function withImports(base: ModuleImport, imports: ModuleImport[]): Type {
  @Module({ imports: [base, ...imports] })
  class Api {}
  return Api;
}
