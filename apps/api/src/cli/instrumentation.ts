import { tuneV8 } from '@app/lifecycle/v8-tuning';
import { startTracing } from '@app/tracing';

// The first import of the entry point, before anything else loads: the V8 settings every
// process runs with, then tracing (when OTEL_* asks for it), which must patch http, pg and
// ioredis before anything loads them.
tuneV8();
startTracing('cli');
