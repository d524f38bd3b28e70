import { securityRootLogger } from '@app/logging';
import { securityEventsTotal } from '@app/metrics';
import { Level } from 'pino';

/** The security events the platform records; each line in security.log names one. */
export type SecurityEventName =
  | 'auth_failed'
  | 'rate_limited'
  | 'ip_banned'
  | 'ban_blocked'
  | 'ip_unbanned'
  | 'dashboard_auth_failed'
  | 'security_backend_unavailable'
  | 'security_backend_recovered'
  | 'apikey_created'
  | 'apikey_updated'
  | 'apikey_revoked';

export interface SecurityEventFields {
  ip?: string;
  reason?: string;
  [field: string]: unknown;
}

const LEVELS: Partial<Record<SecurityEventName, Level>> = {
  ip_unbanned: 'info',
  security_backend_recovered: 'info',
  apikey_created: 'info',
  apikey_updated: 'info',
  apikey_revoked: 'info',
};

/**
 * Writes one security event to security.log (never app.log), with the current request id by
 * itself, and counts it. Admin actions are info; everything else is warn.
 */
export function securityEvent(
  event: SecurityEventName,
  fields: SecurityEventFields,
  message: string,
): void {
  const level = LEVELS[event] ?? 'warn';
  securityRootLogger()[level]({ event, ...fields }, message);
  securityEventsTotal.inc({ event });
}
