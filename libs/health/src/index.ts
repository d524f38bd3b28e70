export * from './health-report.service';
export * from './health.module';
export * from './indicators/database.indicator';
export * from './utils/with-timeout';
export * from './worker-health.server';
export * from './workers/worker-heartbeat';
export * from './metrics/health-metrics';
