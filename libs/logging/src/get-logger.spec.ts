import { Writable } from 'node:stream';
import pino from 'pino';
import { runWithLogContext, setLogContext } from './context/log-context';
import { getLogger } from './get-logger';
import { closeLoggers, installLoggers } from './root-loggers';

// Created at module scope, before any configuration: it must bind lazily.
const moduleLogger = getLogger('ModuleScope');

function captureLoggers(): { lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino(
    { mixin: () => ({}), level: 'debug' },
    pino.multistream([{ stream, level: 'debug' }]),
  );
  installLoggers({ app: logger, access: logger, security: logger, close: async () => undefined });
  return { lines };
}

describe('getLogger', () => {
  afterEach(() => closeLoggers());

  it('binds lazily: a module-scope logger writes to loggers installed later', () => {
    const { lines } = captureLoggers();
    moduleLogger.info({ a: 1 }, 'hello');
    expect(lines).toEqual([
      expect.objectContaining({ context: 'ModuleScope', a: 1, msg: 'hello' }),
    ]);
  });

  it('pins explicit ids and accepts an Error as the first argument', () => {
    const { lines } = captureLoggers();
    getLogger('Pinned', { requestId: 'r-1', userId: 'u-1' }).error(new Error('bad'), 'failed');
    expect(lines[0]).toMatchObject({
      context: 'Pinned',
      requestId: 'r-1',
      userId: 'u-1',
      msg: 'failed',
    });
    expect((lines[0].err as { message: string }).message).toBe('bad');
  });
});

describe('log context', () => {
  it('lets later code add the userId to the running context', async () => {
    const context = { requestId: 'r-2' };
    await runWithLogContext(context, async () => {
      await Promise.resolve();
      setLogContext({ userId: 'u-2' });
    });
    expect(context).toEqual({ requestId: 'r-2', userId: 'u-2' });
  });
});
