export { QueueRegistry } from './queue-registry';
export { QueueModule } from './queue.module';
export { activeJobCount, runJob } from './run-job';
