import { onLogLine } from '@app/logging';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The process's metrics (prom-client), in Prometheus naming: `_total` counters, `_seconds`
 * durations, base units. Every series carries `service` (api or worker) as a default label. Label
 * values are bounded by construction: route templates, known methods, status codes, level names,
 * event names — never paths, ids or messages. Features add their own metrics to this registry.
 */
export const registry = new Registry();

export const httpRequestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests answered, by method, route template and status code',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time from the request arriving to the response finishing, by method, route template and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const logLinesTotal = new Counter({
  name: 'log_lines_total',
  help: 'Log lines written, by level (every channel: app, access, security)',
  labelNames: ['level'] as const,
  registers: [registry],
});

export const securityEventsTotal = new Counter({
  name: 'security_events_total',
  help: 'Security events recorded in security.log, by event',
  labelNames: ['event'] as const,
  registers: [registry],
});

export const rateLimitHitsTotal = new Counter({
  name: 'rate_limit_hits_total',
  help: 'Requests refused with 429 because the client went over RATE_LIMIT_PER_MINUTE',
  registers: [registry],
});

/** The per-key policies a refusal can name: the two throttlers and the three quotas. */
export const KEY_LIMIT_POLICIES = [
  'key',
  'generations',
  'max_active',
  'daily_tokens',
  'max_streams',
] as const;
export type KeyLimitPolicy = (typeof KEY_LIMIT_POLICIES)[number];

export const keyLimitRefusalsTotal = new Counter({
  name: 'key_limit_refusals_total',
  help: 'Requests refused with 429 by a per-key policy (the key and generations throttlers, the max_active, daily_tokens and max_streams quotas); never labelled by key',
  labelNames: ['policy'] as const,
  registers: [registry],
});
for (const policy of KEY_LIMIT_POLICIES) keyLimitRefusalsTotal.inc({ policy }, 0);

export const ipBansTotal = new Counter({
  name: 'ip_bans_total',
  help: 'Temporary IP bans started',
  registers: [registry],
});

export const bannedRequestsTotal = new Counter({
  name: 'banned_requests_total',
  help: 'Requests refused with 403 because the client IP is banned',
  registers: [registry],
});

type Sampler = () => Promise<void> | void;

/** A gauge read when scraped; `sample` fills it (bounded in time by whoever provides it). */
function sampledGauge<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): { gauge: Gauge<L>; sampleWith(sampler: Sampler): void } {
  let sampler: Sampler | undefined;
  const gauge = new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      if (sampler) await sampler();
    },
  });
  return { gauge, sampleWith: (next) => (sampler = next) };
}

export const queueJobs = sampledGauge(
  'queue_jobs',
  'Jobs in each queue by state (waiting, active, delayed, completed, failed, paused), sampled at scrape time',
  ['queue', 'state'],
);
export const workersOnline = sampledGauge(
  'workers_online',
  'Worker processes with a live heartbeat in Redis, sampled at scrape time',
);
export const dbPoolConnections = sampledGauge(
  'db_pool_connections',
  'PostgreSQL pool connections of this process by state: total, idle, waiting (queries queued for one), max',
  ['state'],
);
export const postgresUp = sampledGauge(
  'postgres_up',
  '1 when PostgreSQL answered a ping at scrape time, else 0',
);
export const redisUp = sampledGauge(
  'redis_up',
  '1 when Redis answered a ping at scrape time, else 0',
);

let started = false;

/**
 * Starts collecting for `service`: default process metrics, and the log-line counter fed from
 * the logging lib (counted where lines are written, whatever the channel).
 */
export function startCollecting(service: string): void {
  if (started) return;
  started = true;
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // prom-client also exports nodejs_active_{handles,requests,resources}_total as gauges, which
  // breaks the naming rule (`_total` is for counters) and duplicates the per-type gauges it keeps
  for (const metric of registry.getMetricsAsArray()) {
    const { name } = metric as unknown as { name: string };
    if (name.endsWith('_total') && !(metric instanceof Counter)) registry.removeSingleMetric(name);
  }
  // every level present from the start, so that rate() over it works before the first error
  for (const level of ['trace', 'debug', 'info', 'warn', 'error', 'fatal'])
    logLinesTotal.inc({ level }, 0);
  onLogLine((level) => logLinesTotal.inc({ level }));
}

/** The exposition text and its content type. */
export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
  return { body: await registry.metrics(), contentType: registry.contentType };
}
