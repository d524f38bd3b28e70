import { createHash, timingSafeEqual } from 'node:crypto';

export type MetricsAccess = 'allowed' | 'missing' | 'wrong';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Whether a scrape may read `/metrics`: with METRICS_TOKEN set it needs
 * `Authorization: Bearer <token>` (compared in constant time); without one it is open.
 */
export function metricsAccess(
  token: string | undefined,
  authorization: string | undefined,
): MetricsAccess {
  if (!token) return 'allowed';
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) return 'missing';
  return timingSafeEqual(digest(match[1]), digest(token)) ? 'allowed' : 'wrong';
}

export const METRICS_TOKEN_REQUIRED =
  'Error reading metrics: send the metrics token as Authorization: Bearer <METRICS_TOKEN>';
