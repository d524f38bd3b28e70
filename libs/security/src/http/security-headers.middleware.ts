import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';

export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

const PERMISSIONS_POLICY = [
  'accelerometer=()',
  'camera=()',
  'geolocation=()',
  'gyroscope=()',
  'magnetometer=()',
  'microphone=()',
  'payment=()',
  'usb=()',
  'interest-cohort=()',
].join(', ');

export interface PagePolicy {
  /** Path prefix of a browser page (Bull Board, Swagger UI). */
  prefix: string;
  /** The Content-Security-Policy that lets exactly that page work. */
  csp: string;
}

/** A header set as `[name, value]` pairs, in the order helmet sets them. */
type HeaderSet = ReadonlyArray<readonly [string, string]>;

/**
 * The headers every response carries — JSON, errors, 404, 429, pages. helmet for what it
 * covers; Permissions-Policy and Cache-Control in one small piece. The API's CSP forbids
 * everything; browser pages get their own policy. None of them depends on the request, so each
 * set is computed once, at start-up (helmet run against a recording response), and a request
 * costs one loop of `setHeader` instead of helmet's chain of a dozen middlewares.
 */
export function securityHeaders(options: { hsts: boolean; pages?: PagePolicy[] }): RequestHandler {
  const api = headerSet(options.hsts, API_CSP);
  const pages = (options.pages ?? []).map((page) => ({
    prefix: page.prefix,
    headers: headerSet(options.hsts, page.csp),
  }));
  return (req: Request, res: Response, next: NextFunction): void => {
    const page = pages.find((candidate) => req.path.startsWith(candidate.prefix));
    for (const [name, value] of page ? page.headers : api) res.setHeader(name, value);
    next();
  };
}

/**
 * The headers `securityHeaders` sets on an API response, as a plain map: for answers written
 * below Express (Node's parser errors), which must carry the same set.
 */
export function apiSecurityHeaders(options: { hsts: boolean }): Record<string, string> {
  return Object.fromEntries(headerSet(options.hsts, API_CSP));
}

function headerSet(hsts: boolean, csp: string): HeaderSet {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | number) => headers.set(name, String(value)),
    removeHeader: (name: string) => headers.delete(name),
    getHeader: (name: string) => headers.get(name),
  } as unknown as Response;
  const request = { path: '/', headers: {}, method: 'GET' } as unknown as Request;
  helmet({
    contentSecurityPolicy: false,
    strictTransportSecurity: hsts ? { maxAge: 31536000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    originAgentCluster: true,
  })(request, recorder, () => undefined);
  headers.set('Content-Security-Policy', csp);
  headers.set('Permissions-Policy', PERMISSIONS_POLICY);
  headers.set('X-XSS-Protection', '0');
  // Everything is dynamic (pages and their JSON too); static assets set their own caching.
  headers.set('Cache-Control', 'no-store');
  return [...headers];
}
