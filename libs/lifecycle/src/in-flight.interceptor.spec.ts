import { CallHandler, ExecutionContext } from '@nestjs/common';
import { Subject, lastValueFrom } from 'rxjs';
import { InFlightRequests } from './in-flight.interceptor';

describe('InFlightRequests', () => {
  it('counts running handlers and resolves drained() when the last one ends', async () => {
    const inFlight = new InFlightRequests();
    await expect(inFlight.drained()).resolves.toBeUndefined();

    const first = new Subject<string>();
    const second = new Subject<string>();
    const run = (subject: Subject<string>) =>
      lastValueFrom(
        inFlight.intercept({} as ExecutionContext, { handle: () => subject } as CallHandler),
      );
    const results = [run(first), run(second)];
    expect(inFlight.count).toBe(2);

    let drained = false;
    const waiting = inFlight.drained().then(() => (drained = true));
    first.next('a');
    first.complete();
    await Promise.resolve();
    expect(drained).toBe(false);
    second.error(new Error('failed handler still counts as finished'));
    await waiting;
    expect(inFlight.count).toBe(0);
    await expect(results[0]).resolves.toBe('a');
    await expect(results[1]).rejects.toThrow('failed handler');
  });
});
