import { Writable } from 'node:stream';
import pino from 'pino';
import pinoPretty from 'pino-pretty';

/** stdout: JSON lines for aggregators, or pino-pretty for people at a terminal. */
export function openStdout(format: 'json' | 'pretty'): Writable {
  if (format === 'json') {
    return pino.destination({ dest: 1, sync: false }) as unknown as Writable;
  }
  return pinoPretty({
    destination: 1,
    sync: false,
    colorize: process.stdout.isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service,environment,context,channel',
    messageFormat: '[{context}] {msg}',
  }) as unknown as Writable;
}
