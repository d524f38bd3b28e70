import { HealthReportService } from '@app/health';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { Express, Request, Response } from 'express';
import { sendJson } from '../http/json-reply.adapter';

export const LIVENESS_PATH = '/health';

/**
 * Liveness, `GET /health` (and HEAD), as a route of the HTTP layer rather than of a controller.
 * A probe needs nothing of Nest's per-request chain: it is public, never throttled, takes no
 * parameter and cannot fail — yet the global guards, the pipes, the response controller and the
 * route dispatch were about a fifth of its cost (Kubernetes asks every few seconds per pod,
 * monitors more). It is mounted after every middleware of the api, so it keeps all they give a
 * request: metrics, the in-flight count, its request id and access line, `Connection: close`
 * while draining, the security headers; its body is still `HealthReportService.liveness()`
 * ("shutting_down" from SIGTERM on), written as every JSON route writes its answer. Any other
 * method falls through to the api's 404.
 */
export function mountLiveness(app: NestExpressApplication): void {
  const reports = app.get(HealthReportService);
  const express = app.getHttpAdapter().getInstance() as Express;
  express.get(LIVENESS_PATH, (_req: Request, res: Response) => {
    const report = reports.liveness();
    sendJson(res, report.body, report.httpStatus);
  });
}

/** Its entry in the OpenAPI document, beside the controllers' (Swagger only sees those). */
export const LIVENESS_OPENAPI: OpenAPIObject['paths'] = {
  [LIVENESS_PATH]: {
    get: {
      operationId: 'HealthController_liveness',
      summary: 'Liveness',
      description:
        'Answers while the process does; never asks PostgreSQL or Redis. `status` is "shutting_down", still 200, from SIGTERM on.',
      tags: ['health'],
      security: [],
      parameters: [],
      responses: {
        '200': {
          description: 'The process is alive',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['status', 'info', 'error', 'details'],
                properties: {
                  status: { type: 'string', enum: ['ok', 'shutting_down'] },
                  info: { type: 'object' },
                  error: { type: 'object' },
                  details: { type: 'object' },
                },
              },
            },
          },
        },
      },
    },
  },
};
