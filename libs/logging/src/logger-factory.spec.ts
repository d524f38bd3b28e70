import pino from 'pino';
import { isoTime } from './logger-factory';

describe('isoTime', () => {
  afterEach(() => jest.useRealTimers());

  it("writes pino's isoTime field for the current millisecond, and follows the clock", () => {
    jest.useFakeTimers({ now: new Date('2026-12-04T18:00:00.123Z') });
    expect(isoTime()).toBe(',"time":"2026-12-04T18:00:00.123Z"');
    expect(isoTime()).toBe(pino.stdTimeFunctions.isoTime());
    jest.setSystemTime(new Date('2026-12-04T18:00:00.124Z'));
    expect(isoTime()).toBe(',"time":"2026-12-04T18:00:00.124Z"');
    jest.setSystemTime(new Date('2027-01-01T00:00:00.000Z'));
    expect(isoTime()).toBe(pino.stdTimeFunctions.isoTime());
    expect(JSON.parse(`{${isoTime().slice(1)}}`)).toEqual({ time: '2027-01-01T00:00:00.000Z' });
  });
});
