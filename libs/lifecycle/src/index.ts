export { closeConnectionsWhileDraining } from './drain.middleware';
export { enableGracefulShutdown } from './graceful-shutdown';
export { InFlightRequests } from './in-flight-requests';
export { KeyedBatches } from './keyed-batches';
export { LifecycleModule } from './lifecycle.module';
export { RunningTasks } from './running-tasks';
export { ShutdownState } from './shutdown-state';
export { failStartup, startProcess } from './start-process';
export { TimeoutError, withTimeout } from './with-timeout';
