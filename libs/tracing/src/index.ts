export { startTracing } from './start-tracing';
export {
  activeTraceIds,
  activeTraceparent,
  runInConsumerSpan,
  runInRootSpan,
  shutdownTracing,
  tracingStarted,
} from './trace-hooks';
export type { ConsumerSpanOptions, TraceIds } from './trace-hooks';
export { tracingWanted } from './tracing-wanted';
