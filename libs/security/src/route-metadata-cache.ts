import type { ExecutionContext, Type } from '@nestjs/common';

/** A route's decorator targets: its handler, then its controller class. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- what Nest's getHandler() returns
export type RouteTargets = [handler: Function, type: Type];

/**
 * What a guard reads from a route's decorators, computed once per controller class and handler:
 * decorator metadata does not change after start-up, so reading it on every request (reflector
 * lookups over the handler and its class) is wasted work.
 */
export class RouteMetadataCache<T> {
  private readonly byClass = new WeakMap<object, WeakMap<object, T>>();

  constructor(private readonly read: (targets: RouteTargets) => T) {}

  of(context: ExecutionContext): T {
    const [handler, type] = [context.getHandler(), context.getClass()];
    let byHandler = this.byClass.get(type);
    if (!byHandler) this.byClass.set(type, (byHandler = new WeakMap()));
    let value = byHandler.get(handler);
    if (value === undefined) byHandler.set(handler, (value = this.read([handler, type])));
    return value;
  }
}
