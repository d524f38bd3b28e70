import { activeTraceIds } from '@app/tracing';
import { AsyncLocalStorage } from 'node:async_hooks';

/** Fields that follow a request or a job through every line it logs. */
export interface LogContext {
  requestId?: string;
  userId?: string;
  jobId?: string;
  queue?: string;
}

const storage = new AsyncLocalStorage<LogContext>();

/**
 * Runs `fn` with `context` as its context; everything it logs, sync or async, carries these
 * fields. The object itself is the store: `setLogContext` inside `fn` updates it, so the caller
 * sees fields added later (the access line reads the userId set by authentication).
 */
export function runWithLogContext<T>(context: LogContext, fn: () => T): T {
  return storage.run(context, fn);
}

/** The context of the current request or job, or undefined outside both. */
export function getLogContext(): Readonly<LogContext> | undefined {
  return storage.getStore();
}

/**
 * Adds fields to the current context from here on, e.g. `setLogContext({ userId })` once
 * authentication has identified the caller. Outside a request or job it does nothing.
 */
export function setLogContext(fields: Partial<LogContext>): void {
  const store = storage.getStore();
  if (store) Object.assign(store, fields);
}

/** What a log line carries of its context: the fields, and the active span's ids when traced. */
export type LogLineContext = LogContext & { traceId?: string; spanId?: string };

/**
 * The context fields as they go on a log line (defined ones only), with `traceId` and `spanId`
 * of the active span when tracing is on (the same ids in files and on stdout).
 */
export function logContextFields(): LogLineContext {
  const store = storage.getStore();
  const ids = activeTraceIds();
  if (!store) return ids ? { traceId: ids.traceId, spanId: ids.spanId } : {};
  const fields: LogLineContext = {};
  if (store.requestId !== undefined) fields.requestId = store.requestId;
  if (store.userId !== undefined) fields.userId = store.userId;
  if (store.jobId !== undefined) fields.jobId = store.jobId;
  if (store.queue !== undefined) fields.queue = store.queue;
  if (ids) {
    fields.traceId = ids.traceId;
    fields.spanId = ids.spanId;
  }
  return fields;
}
