import { AppConfig } from '@app/config';
import { getLogger } from '@app/logging';
import { ShutdownState } from '@app/lifecycle';
import {
  HttpException,
  Injectable,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { HealthCheckService } from '@nestjs/terminus';
import { IncomingMessage, Server, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { DatabaseHealthIndicator } from './indicators/database.indicator';
import { RedisHealthIndicator } from './indicators/redis.indicator';

const logger = getLogger('WorkerHealthServer');

export interface RouteResult {
  status: number;
  body: object | string;
  type?: string;
  headers?: Record<string, string>;
}

export type RouteHandler = (req: IncomingMessage) => Promise<RouteResult>;

/**
 * The worker's own small HTTP server for Kubernetes probes (WORKER_HEALTH_PORT): `/health`
 * (liveness) and `/health/ready` (PostgreSQL, Redis; 503 from SIGTERM on). Plain node:http —
 * the worker carries no HTTP framework it does not need.
 */
@Injectable()
export class WorkerHealthServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server?: Server;
  private readonly routes = new Map<string, RouteHandler>();

  constructor(
    private readonly config: AppConfig,
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {
    this.routes.set('/health', async () => ({
      status: 200,
      body: {
        status: this.shutdown.isShuttingDown ? 'shutting_down' : 'ok',
        info: {},
        error: {},
        details: {},
      },
    }));
    this.routes.set('/health/ready', () => this.readiness());
  }

  /** Registers another route (metrics add `/metrics`). */
  addRoute(path: string, handler: RouteHandler): void {
    this.routes.set(path, handler);
  }

  private async readiness(): Promise<RouteResult> {
    if (this.shutdown.isShuttingDown) {
      return { status: 503, body: { status: 'shutting_down', info: {}, error: {}, details: {} } };
    }
    try {
      return {
        status: 200,
        body: await this.health.check([() => this.database.ping(), () => this.redis.ping()]),
      };
    } catch (error) {
      if (error instanceof HttpException)
        return { status: 503, body: error.getResponse() as object };
      throw error;
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    this.server = createServer((req, res) => {
      const route = this.routes.get((req.url ?? '/').split('?')[0]);
      const respond = (
        status: number,
        body: object | string,
        type = 'application/json',
        headers: Record<string, string> = {},
      ): void => {
        res.writeHead(status, {
          ...headers,
          'Content-Type': type,
          'Cache-Control': 'no-store',
          'X-Content-Type-Options': 'nosniff',
        });
        res.end(typeof body === 'string' ? body : JSON.stringify(body));
      };
      if (!route || req.method !== 'GET') {
        respond(
          404,
          {
            type: 'about:blank',
            title: 'Not Found',
            status: 404,
            code: 'NOT_FOUND',
            detail: 'Error finding resource: the requested resource does not exist',
            instance: req.url ?? '/',
          },
          'application/problem+json',
        );
        return;
      }
      route(req).then(
        (result) => respond(result.status, result.body, result.type, result.headers),
        (error: unknown) => {
          logger.error({ err: error }, 'Error answering a health probe');
          respond(500, { status: 'error', info: {}, error: {}, details: {} });
        },
      );
    });
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
}
