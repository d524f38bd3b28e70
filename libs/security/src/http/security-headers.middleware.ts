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

/**
 * The headers every response carries — JSON, errors, 404, 429, pages. helmet for what it
 * covers; Permissions-Policy and Cache-Control in one small piece. The API's CSP forbids
 * everything; browser pages get their own policy.
 */
export function securityHeaders(options: {
  hsts: boolean;
  pages?: PagePolicy[];
}): RequestHandler[] {
  const pages = options.pages ?? [];
  const base = helmet({
    contentSecurityPolicy: false,
    strictTransportSecurity: options.hsts ? { maxAge: 31536000, includeSubDomains: true } : false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginOpenerPolicy: { policy: 'same-origin' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    originAgentCluster: true,
  });
  const rest = (req: Request, res: Response, next: NextFunction): void => {
    const page = pages.find((candidate) => req.path.startsWith(candidate.prefix));
    res.setHeader('Content-Security-Policy', page ? page.csp : API_CSP);
    res.setHeader('Permissions-Policy', PERMISSIONS_POLICY);
    res.setHeader('X-XSS-Protection', '0');
    // Everything is dynamic (pages and their JSON too); static assets set their own caching.
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  return [base, rest];
}

/**
 * The headers `securityHeaders` sets on an API response, as a plain map: for answers written
 * below Express (Node's parser errors), which must carry the same set.
 */
export function apiSecurityHeaders(options: { hsts: boolean }): Record<string, string> {
  const headers: Record<string, string> = {};
  const res = {
    setHeader: (name: string, value: string | number) => (headers[name] = String(value)),
    removeHeader: (name: string) => delete headers[name],
    getHeader: (name: string) => headers[name],
  } as unknown as Response;
  const req = { path: '/', headers: {}, method: 'GET' } as unknown as Request;
  for (const middleware of securityHeaders(options)) middleware(req, res, () => undefined);
  return headers;
}
