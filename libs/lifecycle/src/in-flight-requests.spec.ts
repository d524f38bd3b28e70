import type { NextFunction, Request, Response } from 'express';
import { InFlightRequests } from './in-flight-requests';

function response(): Response & { ended: number } {
  const res = {
    ended: 0,
    end() {
      res.ended += 1;
      return res;
    },
  };
  return res as unknown as Response & { ended: number };
}

describe('InFlightRequests', () => {
  it('counts requests until the app ends them and resolves drained() after the last one', async () => {
    const inFlight = new InFlightRequests();
    await expect(inFlight.drained()).resolves.toBeUndefined();

    const next = jest.fn() as NextFunction;
    const [first, second] = [response(), response()];
    inFlight.track({} as Request, first, next);
    inFlight.track({} as Request, second, next);
    expect(next).toHaveBeenCalledTimes(2);
    expect(inFlight.count).toBe(2);

    let drained = false;
    const waiting = inFlight.drained().then(() => (drained = true));
    first.end();
    first.end(); // a second end() does not count twice
    await Promise.resolve();
    expect(drained).toBe(false);
    expect(inFlight.count).toBe(1);
    second.end('body');
    await waiting;
    expect(inFlight.count).toBe(0);
    expect([first.ended, second.ended]).toEqual([2, 1]);
  });
});
