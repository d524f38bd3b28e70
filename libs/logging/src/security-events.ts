import { Level } from 'pino';
import { securityRootLogger } from './root-loggers';

/** The security events the platform records; each line in security.log names one. */
export type SecurityEventName =
  | 'auth_failed'
  | 'rate_limited'
  | 'ip_banned'
  | 'ban_blocked'
  | 'ip_unbanned'
  | 'dashboard_auth_failed'
  | 'security_backend_unavailable'
  | 'apikey_created'
  | 'apikey_revoked';

export interface SecurityEventFields {
  ip?: string;
  reason?: string;
  [field: string]: unknown;
}

const LEVELS: Partial<Record<SecurityEventName, Level>> = {
  ip_unbanned: 'info',
  apikey_created: 'info',
  apikey_revoked: 'info',
};

type SecurityEventListener = (event: SecurityEventName) => void;
const listeners: SecurityEventListener[] = [];

/** Called for every security event recorded (metrics count them). */
export function onSecurityEvent(listener: SecurityEventListener): void {
  listeners.push(listener);
}

/**
 * Writes one security event to security.log (never app.log), with the current request id by
 * itself. Admin actions are info; everything else is warn.
 */
export function securityEvent(
  event: SecurityEventName,
  fields: SecurityEventFields,
  message: string,
): void {
  const level = LEVELS[event] ?? 'warn';
  securityRootLogger()[level]({ event, ...fields }, message);
  for (const listener of listeners) listener(event);
}
