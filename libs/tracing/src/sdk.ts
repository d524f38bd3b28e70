/*
 * The OpenTelemetry SDK and its instrumentations. Loaded by `startTracing` only when tracing is
 * wanted: nothing else in the platform imports an @opentelemetry module.
 */
import {
  Link,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { ConsumerSpanOptions, ServerRequest, ServerResponse, TraceHooks } from './trace-hooks';

/** Probes and scrapes make no traces: one every few seconds per pod, and nothing to see. */
const UNTRACED_PATHS = /^\/(health(\/.*)?|metrics)(\?|$)/;

/** Nest's not-found handler (`/{*path}`) is a route too: what it answers has no template. */
const CATCH_ALL = /^\/?(\*|\{\*\w+\}|\(\.\*\))$/;

/** Attributes that may hold a URL's query string, and what is kept of them. */
const URL_ATTRIBUTES = ['url.full', 'http.url', 'http.target', 'url.original'];
const DROPPED_ATTRIBUTES = ['url.query'];

/**
 * Keeps query strings out of every span (they can carry cursors, tokens, ids): applied while a
 * span ends, before any exporter sees it.
 */
class QueryStringRedactor implements SpanProcessor {
  onStart(): void {}

  onEnding(span: Span): void {
    const attributes = span.attributes as Record<string, unknown>;
    for (const name of URL_ATTRIBUTES) {
      const value = attributes[name];
      if (typeof value === 'string' && value.includes('?')) {
        attributes[name] = value.slice(0, value.indexOf('?'));
      }
    }
    for (const name of DROPPED_ATTRIBUTES) delete attributes[name];
  }

  onEnd(): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The exporter OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL names; endpoints and headers from env. */
function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter {
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    'http/protobuf'
  ).trim();
  if (protocol === 'grpc') return new GrpcExporter();
  if (protocol === 'http/json') return new JsonExporter();
  return new ProtobufExporter();
}

function instrumentations() {
  return [
    // outgoing node:http calls only, and only as part of a request or a job; the server span is
    // the platform's own (`serverSpan`): the instrumentation's costs a third of a read's time
    new HttpInstrumentation({
      disableIncomingRequestInstrumentation: true,
      requireParentforOutgoingSpans: true,
    }),
    // statements as written: the platform's are parameterized, values never recorded
    new PgInstrumentation({
      requireParentSpan: true,
      enhancedDatabaseReporting: false,
      // a pool checkout is no unit of work: one span per query is the trace
      ignoreConnectSpans: true,
    }),
    // the command name only: Bull's EVALSHA arguments carry job data
    new IORedisInstrumentation({
      requireParentSpan: true,
      dbStatementSerializer: (command: string) => command,
    }),
    new UndiciInstrumentation({ requireParentforSpans: true }),
  ];
}

function linkTo(traceparent: string | undefined): Link[] {
  if (!traceparent) return [];
  const linked = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }));
  return linked && isSpanContextValid(linked) ? [{ context: linked }] : [];
}

/** Starts the SDK (synchronously: the instrumentations patch modules loaded after this). */
export function startSdk(service: string, env: NodeJS.ProcessEnv): TraceHooks {
  env.OTEL_SERVICE_NAME ||= `rocket-launch-${service}`;
  // traces only: metrics stay with prom-client, logs with pino
  env.OTEL_METRICS_EXPORTER ||= 'none';
  env.OTEL_LOGS_EXPORTER ||= 'none';
  const sdk = new NodeSDK({
    spanProcessors: [
      new QueryStringRedactor(),
      new BatchSpanProcessor({ exporter: exporterFromEnv(env) }),
    ],
    instrumentations: instrumentations(),
  });
  sdk.start();
  const tracer = trace.getTracer('rocket-launch');

  /** `fn` in a new active span under `parent`, which records a failure and ends with `fn`. */
  const run = async <T>(
    name: string,
    kind: SpanKind,
    parent: typeof ROOT_CONTEXT,
    options: Omit<ConsumerSpanOptions, 'name' | 'traceparent'>,
    fn: () => Promise<T>,
  ): Promise<T> =>
    tracer.startActiveSpan(
      name,
      {
        kind,
        attributes: options.attributes,
        links: linkTo(options.linkedTraceparent),
      },
      parent,
      async (span) => {
        try {
          return await fn();
        } catch (error) {
          span.recordException(error as Error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
          throw error;
        } finally {
          span.end();
        }
      },
    );

  const serverSpan = (req: ServerRequest, res: ServerResponse, next: () => void): void => {
    const url = req.originalUrl ?? req.url ?? '/';
    if (UNTRACED_PATHS.test(url)) return next();
    const method = req.method ?? 'GET';
    // most requests carry no trace context: no propagator run for them
    const parent =
      req.headers.traceparent === undefined && req.headers.baggage === undefined
        ? ROOT_CONTEXT
        : propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(
      method,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': method,
          'url.path': url.split('?')[0],
          'url.scheme': 'http',
        },
      },
      parent,
    );
    // 'close' follows every response, finished or cut off: one listener ends the span
    const end = (): void => {
      const route = req.route?.path;
      if (typeof route === 'string' && !CATCH_ALL.test(route)) {
        const template = `${req.baseUrl ?? ''}${route}`;
        span.setAttribute('http.route', template);
        span.updateName(`${method} ${template}`);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('close', end);
    context.with(trace.setSpan(parent, span), next);
  };

  return {
    serverSpan,
    ids: () => {
      const spanContext = trace.getActiveSpan()?.spanContext();
      return spanContext && isSpanContextValid(spanContext)
        ? { traceId: spanContext.traceId, spanId: spanContext.spanId }
        : undefined;
    },
    traceparent: () => {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      return carrier.traceparent;
    },
    runInConsumerSpan: (options, fn) => {
      const parent = options.traceparent
        ? propagation.extract(ROOT_CONTEXT, { traceparent: options.traceparent })
        : ROOT_CONTEXT;
      return run(options.name, SpanKind.CONSUMER, parent, options, fn);
    },
    runInRootSpan: (name, linkedTraceparent, fn) =>
      run(name, SpanKind.INTERNAL, ROOT_CONTEXT, { linkedTraceparent }, fn),
    // no parent span: the instrumentations (requireParentSpan) pass the call straight through
    untraced: (fn) => context.with(ROOT_CONTEXT, fn),
    shutdown: () => sdk.shutdown(),
  };
}
