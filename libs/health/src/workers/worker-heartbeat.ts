/** Where each worker process announces itself in Redis (a key per worker, with a TTL). */
export const WORKER_HEARTBEAT_PREFIX = 'rl:worker:';

/** What a worker says about itself every WORKER_HEARTBEAT_SECONDS. */
export interface WorkerHeartbeat {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  activeJobs: number;
  queues: string[];
  startedAt: string;
  lastHeartbeat: string;
}
