import type { JobStatus } from 'bull';

/** Job states in which Bull will still run the job: whoever repairs a record leaves it to Bull. */
const WILL_RUN: ReadonlySet<string> = new Set<JobStatus>([
  'waiting',
  'delayed',
  'active',
  'paused',
]);

/** Whether Bull will still run a job in this state (`getState()`'s answer, or 'missing'). */
export function bullWillRun(state: string): boolean {
  return WILL_RUN.has(state);
}
