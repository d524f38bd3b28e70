import { AppException, errorMessage } from '@app/exceptions';
import type { NextFunction, Request, Response } from 'express';

/** A request whose `Expect` the api cannot meet (anything but 100-continue): 417 problem details. */
export function unexpectedExpectation(req: Request, _res: Response, next: NextFunction): void {
  const expect = req.headers.expect;
  if (expect === undefined || expect.toLowerCase() === '100-continue') return next();
  next(
    new AppException(
      417,
      errorMessage('processing request', 'the Expect header cannot be met; send it without one'),
    ),
  );
}
