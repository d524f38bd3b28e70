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
    if (!page) res.setHeader('Cache-Control', 'no-store');
    next();
  };
  return [base, rest];
}
