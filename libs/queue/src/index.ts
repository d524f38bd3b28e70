export * from './queue.constants';
export * from './queue.module';
export * from './run-job';
