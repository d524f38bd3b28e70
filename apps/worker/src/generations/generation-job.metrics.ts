import { registry } from '@app/metrics';
import { Counter, Histogram } from 'prom-client';

/** How one attempt ended, as `generation_jobs_total` counts it. */
export type JobOutcome = 'succeeded' | 'retried' | 'failed' | 'cancelled' | 'skipped';

export const generationJobsTotal = new Counter({
  name: 'generation_jobs_total',
  help: 'Generation job attempts finished by the worker, by provider and outcome (succeeded, retried, failed, cancelled, skipped)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});

export const generationJobDuration = new Histogram({
  name: 'generation_job_duration_seconds',
  help: 'Duration of generation job attempts, by provider and outcome',
  labelNames: ['provider', 'outcome'] as const,
  buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  registers: [registry],
});
