export * from './graceful-shutdown';
export * from './lifecycle.module';
export * from './shutdown-state';
export * from './start-process';
export * from './drain.middleware';
export * from './in-flight-requests';
