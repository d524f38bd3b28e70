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

/**
 * What a public health body may say about a failed check in production: the dependency's name
 * (its key) and one of a few generic reasons. Driver messages name hosts, ports and paths; they
 * stay in the logs.
 */
export function publicReason(message: string): string {
  if (/did not answer within|timed? ?out/i.test(message)) return 'timeout';
  if (/ECONNREFUSED|refused/i.test(message)) return 'connection refused';
  if (/waiting for a connection/i.test(message)) return 'pool exhausted';
  return 'unavailable';
}

/** The same body with every check's `message` replaced by its public reason. */
export function withPublicReasons(body: HealthBody): HealthBody {
  const scrub = (results: HealthIndicatorResult): HealthIndicatorResult =>
    Object.fromEntries(
      Object.entries(results).map(([key, result]) => [
        key,
        typeof result.message === 'string'
          ? { ...result, message: publicReason(result.message) }
          : result,
      ]),
    ) as HealthIndicatorResult;
  return {
    ...body,
    info: scrub(body.info),
    error: scrub(body.error),
    details: scrub(body.details),
  };
}
