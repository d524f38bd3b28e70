import { AppConfig } from '@app/config';
import {
  ClassifiedError,
  PROBLEM_CONTENT_TYPE,
  classifyError,
  problemDetails,
} from '@app/exceptions';
import { HealthReport, HealthReportService } from '@app/health';
import { getLogger } from '@app/logging';
import { MetricsService } from '@app/metrics';
import { Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';

const logger = getLogger('WorkerHealthServer');

interface Answer {
  status: number;
  body: string;
  type: string;
  headers?: Record<string, string>;
}

const problem = (
  classified: Pick<ClassifiedError, 'status'> & Partial<ClassifiedError>,
  instance: string,
): Answer => ({
  status: classified.status,
  body: JSON.stringify(problemDetails({ ...classified, instance })),
  type: PROBLEM_CONTENT_TYPE,
  headers: classified.headers,
});

const json = (report: HealthReport): Answer => ({
  status: report.httpStatus,
  body: JSON.stringify(report.body),
  type: 'application/json',
});

/**
 * The worker's own small HTTP server for Kubernetes probes and scrapes (WORKER_HEALTH_PORT):
 * `/health` and `/health/ready` answer the same reports as the api's, `/metrics` the same
 * scrape. Plain node:http — the worker carries no HTTP framework it does not need. Errors are
 * problem details like everywhere else.
 */
@Injectable()
export class WorkerHealthServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  private readonly routes: Record<string, (req: IncomingMessage) => Promise<Answer>>;

  constructor(
    private readonly config: AppConfig,
    reports: HealthReportService,
    metrics: MetricsService,
  ) {
    this.routes = {
      '/health': async () => json(reports.liveness()),
      '/health/ready': async () => json(await reports.readiness()),
      '/metrics': async (req) => {
        const { body, contentType } = await metrics.scrape(req.headers.authorization);
        return { status: 200, body, type: contentType };
      },
    };
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = createServer((req, res) => void this.answer(req, res));
    await new Promise<void>((resolve) =>
      this.server?.listen(this.config.worker.healthPort, resolve),
    );
    const { port } = this.server.address() as AddressInfo;
    logger.info(
      { port, url: `http://127.0.0.1:${port}` },
      `worker health server listening on port ${port}`,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    const route = req.method === 'GET' ? this.routes[path] : undefined;
    const answer = route
      ? await route(req).catch((error: unknown) => this.failure(error, path))
      : problem({ status: 404 }, path);
    res.writeHead(answer.status, {
      ...answer.headers,
      'Content-Type': answer.type,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(answer.body);
  }

  private failure(error: unknown, path: string): Answer {
    const classified = classifyError(error);
    if (classified.status >= 500) logger.error({ err: error }, 'Error answering a health probe');
    return problem(classified, path);
  }
}
