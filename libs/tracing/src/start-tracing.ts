import { installTraceHooks, tracingStarted } from './trace-hooks';
import { tracingWanted } from './tracing-wanted';

/**
 * The first statement of every entry point (through its `instrumentation.ts`): starts the
 * OpenTelemetry SDK when the environment asks for it (`tracingWanted`), before any instrumented
 * module (http, express, pg, ioredis, undici) is loaded. Otherwise it loads nothing.
 */
export function startTracing(service: 'api' | 'worker' | 'cli', env = process.env): void {
  if (tracingStarted() || !tracingWanted(env)) return;
  // required here, not imported: without tracing no @opentelemetry module is ever loaded
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startSdk } = require('./sdk') as typeof import('./sdk');
  installTraceHooks(startSdk(service, env));
}
