/**
 * Every worker's heartbeat, in one hash (field: the worker's id): reading who is online is one
 * command, whatever else Redis holds, and nothing scans the keyspace.
 */
export const WORKER_HEARTBEATS_KEY = 'rl:workers';

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
  /** Epoch ms after which, without a newer beat, the worker counts as offline (3 periods). */
  expiresAt: number;
}
