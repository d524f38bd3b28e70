export { startTracing } from './start-tracing';
export {
  activeTraceIds,
  activeTraceparent,
  runInConsumerSpan,
  runInRootSpan,
  serverSpanMiddleware,
  shutdownTracing,
  tracingStarted,
  untraced,
} from './trace-hooks';
export type { ConsumerSpanOptions, TraceIds } from './trace-hooks';
export { tracingWanted } from './tracing-wanted';
