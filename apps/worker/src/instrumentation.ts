import { startTracing } from '@app/tracing';

// The first import of the entry point: tracing (when OTEL_* asks for it) must patch http,
// pg and ioredis before anything loads them.
startTracing('worker');
