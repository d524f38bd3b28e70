export { HealthModule } from './health.module';
export { DatabaseHealthIndicator } from './indicators/database.indicator';
export { QueuesHealthIndicator } from './indicators/queues.indicator';
export { RedisHealthIndicator } from './indicators/redis.indicator';
export { WorkersHealthIndicator } from './indicators/workers.indicator';
export type { HealthBody, HealthReport } from './report/health-body';
export { HealthReportService } from './report/health-report.service';
export { WORKER_HEARTBEATS_KEY } from './workers/worker-heartbeat';
export type { WorkerHeartbeat } from './workers/worker-heartbeat';
