import { startTracing } from '@app/tracing';

// The first import of the entry point: tracing (when OTEL_* asks for it) must patch http,
// express, pg and ioredis before anything loads them.
startTracing('api');
