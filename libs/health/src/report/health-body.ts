import type { HealthCheckResult, HealthIndicatorResult } from '@nestjs/terminus';

/** Terminus's report shape, plus `shutting_down` once SIGTERM has arrived. */
export interface HealthBody {
  status: HealthCheckResult['status'] | 'shutting_down';
  info: HealthIndicatorResult;
  error: HealthIndicatorResult;
  details: HealthIndicatorResult;
}

/** A report as an HTTP answer: probes read the status code, monitoring tools the body. */
export interface HealthReport {
  httpStatus: 200 | 503;
  body: HealthBody;
}

/** The one builder of health bodies that Terminus does not make itself (liveness, shutdown). */
export function healthBody(
  status: HealthBody['status'],
  parts: Partial<HealthBody> = {},
): HealthBody {
  return { status, info: parts.info ?? {}, error: parts.error ?? {}, details: parts.details ?? {} };
}

/** The first line of an error's message: what a failed check reports. */
export function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message.split('\n')[0] : String(error);
}
