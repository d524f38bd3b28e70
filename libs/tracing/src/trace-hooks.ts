/**
 * What the rest of the platform asks of tracing, answered by the SDK once it has started and by
 * no-ops otherwise — so that nothing outside this lib loads an @opentelemetry module, and a
 * process without tracing pays nothing.
 */
export interface TraceIds {
  traceId: string;
  spanId: string;
}

export interface ConsumerSpanOptions {
  /** Span name, e.g. `generations process`. */
  name: string;
  /** The producer's W3C traceparent: the span continues that trace. */
  traceparent?: string;
  /** A trace this one is linked to instead of continuing it (a job re-queued from its record). */
  linkedTraceparent?: string;
  attributes?: Record<string, string | number | boolean>;
}

/** The parts of an incoming request and its response the server span reads. */
export interface ServerRequest {
  method?: string;
  url?: string;
  originalUrl?: string;
  baseUrl?: string;
  route?: { path?: unknown };
  headers: Record<string, string | string[] | undefined>;
}
export interface ServerResponse {
  statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

export interface TraceHooks {
  ids(): TraceIds | undefined;
  serverSpan(req: ServerRequest, res: ServerResponse, next: () => void): void;
  traceparent(): string | undefined;
  runInConsumerSpan<T>(options: ConsumerSpanOptions, fn: () => Promise<T>): Promise<T>;
  runInRootSpan<T>(
    name: string,
    linkedTraceparent: string | undefined,
    fn: () => Promise<T>,
  ): Promise<T>;
  untraced<T>(fn: () => T): T;
  shutdown(): Promise<void>;
}

let hooks: TraceHooks | undefined;

export function installTraceHooks(installed: TraceHooks): void {
  hooks = installed;
}

export function tracingStarted(): boolean {
  return hooks !== undefined;
}

/** The active span's ids, for log lines; undefined when nothing is traced. */
export function activeTraceIds(): TraceIds | undefined {
  return hooks?.ids();
}

/**
 * An Express middleware, first in the chain, that runs the rest of the request in its server span
 * (continuing the client's `traceparent`), named by its route template when the response ends;
 * undefined when tracing is off.
 */
export function serverSpanMiddleware():
  ((req: ServerRequest, res: ServerResponse, next: () => void) => void) | undefined {
  const installed = hooks;
  return installed ? (req, res, next) => installed.serverSpan(req, res, next) : undefined;
}

/** The active span as a W3C `traceparent`, to carry across the queue. */
export function activeTraceparent(): string | undefined {
  return hooks?.traceparent();
}

/** Runs a job's work in a span that continues (or links to) the producer's trace. */
export function runInConsumerSpan<T>(
  options: ConsumerSpanOptions,
  fn: () => Promise<T>,
): Promise<T> {
  return hooks ? hooks.runInConsumerSpan(options, fn) : fn();
}

/**
 * Runs `fn` in a new root span (a new trace), linked to `linkedTraceparent` when given: work that
 * no request started but that belongs with one (the reconciler re-queueing a record).
 */
export function runInRootSpan<T>(
  name: string,
  linkedTraceparent: string | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  return hooks ? hooks.runInRootSpan(name, linkedTraceparent, fn) : fn();
}

/**
 * Runs `fn` outside every trace: the Redis and PostgreSQL calls it makes start no span. For the
 * checks every request makes (the per-IP limiter's and the throttler's one script each), which
 * would otherwise double the spans of every trace and say nothing the rate-limit metrics and
 * the server span's duration do not.
 */
export function untraced<T>(fn: () => T): T {
  return hooks ? hooks.untraced(fn) : fn();
}

/** Flushes pending spans and stops the SDK; resolves at once without tracing. */
export function shutdownTracing(): Promise<void> {
  return hooks ? hooks.shutdown() : Promise.resolve();
}
