import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { InFlightRequests } from './in-flight.interceptor';
import { ShutdownState } from './shutdown-state';

@Global()
@Module({
  providers: [
    ShutdownState,
    InFlightRequests,
    { provide: APP_INTERCEPTOR, useExisting: InFlightRequests },
  ],
  exports: [ShutdownState, InFlightRequests],
})
export class LifecycleModule {}
