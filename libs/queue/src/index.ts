export { bullWillRun } from './job-state';
export { QueueRegistry } from './queue-registry';
export { QueueModule } from './queue.module';
export { RetryLater, activeJobCount, processQueue, runJob } from './run-job';
