import type { NextFunction, Request, Response } from 'express';
import { MatchFunction, match } from 'path-to-regexp';
import { httpRequestDuration, httpRequestsTotal } from './registry';

/** Requests no route matched share this one label value. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Nest's not-found handler is a route too (`/{*path}`): what it answers is unmatched. */
const CATCH_ALL = /^\/?(\*|\{\*\w+\}|\(\.\*\))$/;

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

interface RouteLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
}

interface CompiledRoute {
  path: string;
  /** Express's route object: `req.route` once the request is routed to it. */
  route: object;
  methods: Set<string>;
  matches: MatchFunction<object>;
}

/**
 * The route template of a request, never its raw path: Express's own `req.route` when a route
 * handled it; otherwise (refused before routing: 429, 403, 413) the first registered route whose
 * template matches; else the mount it falls under (the dashboard, the docs); else `unmatched`.
 */
export class RouteTemplates {
  private compiled?: CompiledRoute[];

  constructor(
    /** Express's router stack (`app.router.stack`), read once routes exist. */
    private readonly stack: () => readonly unknown[] | undefined,
    private readonly mounts: string[] = [],
  ) {}

  of(req: Request): string {
    const route = req.route as { path?: unknown } | undefined;
    if (route && typeof route.path === 'string' && !CATCH_ALL.test(route.path))
      return `${req.baseUrl}${route.path}`;
    const matched = this.match(req);
    if (matched) return matched.path;
    const path = req.path;
    const mount = this.mounts.find((prefix) => path === prefix || path.startsWith(`${prefix}/`));
    return mount ?? UNMATCHED_ROUTE;
  }

  /**
   * The route Express will hand a request not routed yet (`req.route` to be), by the same rule:
   * the first registered route of its method whose template matches its path.
   */
  routeOf(req: Request): object | undefined {
    return this.match(req)?.route;
  }

  private match(req: Request): CompiledRoute | undefined {
    const path = req.path;
    const method = req.method === 'HEAD' ? 'get' : req.method.toLowerCase();
    for (const candidate of this.routes()) {
      if (
        (candidate.methods.has(method) || candidate.methods.has('_all')) &&
        candidate.matches(path)
      )
        return candidate;
    }
    return undefined;
  }

  private routes(): CompiledRoute[] {
    if (this.compiled) return this.compiled;
    const layers = this.stack() ?? [];
    const routes: CompiledRoute[] = [];
    for (const layer of layers as RouteLayer[]) {
      const path = layer.route?.path;
      if (!layer.route || typeof path !== 'string' || CATCH_ALL.test(path)) continue;
      try {
        routes.push({
          path,
          route: layer.route,
          methods: new Set(Object.keys(layer.route.methods)),
          matches: match(path, { decode: false }),
        });
      } catch {
        // a template path-to-regexp cannot read is left to the fallbacks
      }
    }
    // routes are registered when the app initialises: keep trying until there are some
    if (routes.length > 0) this.compiled = routes;
    return routes;
  }
}

/** Counts and times every response, labelled by method, route template and status. */
export function httpMetrics(routes: RouteTemplates) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const labels = {
        method: KNOWN_METHODS.has(req.method) ? req.method : 'OTHER',
        route: routes.of(req),
        status: String(res.statusCode),
      };
      httpRequestsTotal.inc(labels);
      httpRequestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
