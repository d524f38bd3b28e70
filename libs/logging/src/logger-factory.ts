import { Writable } from 'node:stream';
import { AppConfig, LogLevel, ServiceName } from '@app/config';
import pino, { DestinationStream, Level, Logger, StreamEntry } from 'pino';
import { logContextFields } from './context/log-context';
import { LogChannel, openLogFile, prepareLogDirectory } from './destinations/log-files';
import { openStdout } from './destinations/stdout';
import { redact } from './redaction/redact';
import { join } from 'node:path';
import { hostname } from 'node:os';

/** One pino logger per channel; they share the stdout and errors.log destinations. */
export interface Loggers {
  app: Logger;
  access: Logger;
  security: Logger;
  /** Flushes and closes every destination: the last lines reach disk before exit. */
  close(): Promise<void>;
}

type LineListener = (level: string, service: ServiceName) => void;
const lineListeners: LineListener[] = [];

/** Called for every line written, whatever its channel (metrics count log lines by level). */
export function onLogLine(listener: LineListener): void {
  lineListeners.push(listener);
}

const LEVEL_ORDER: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

let lastMs = NaN;
let lastTime = '';

/**
 * pino's `isoTime` (`,"time":"2026-12-04T18:00:00.000Z"`), formatted once per millisecond: under
 * load many lines share one, and each would otherwise build a Date and its string.
 */
export function isoTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastTime = `,"time":"${new Date(now).toISOString()}"`;
  }
  return lastTime;
}

function lowerOf(a: LogLevel, b: LogLevel): LogLevel {
  return LEVEL_ORDER[a] <= LEVEL_ORDER[b] ? a : b;
}

/**
 * The one logging configuration both apps (and the CLI) use: base fields, level as a word, ISO
 * time, redaction at any depth, request/job context from AsyncLocalStorage, and the routing of
 * channels to files, for the process the config was loaded for.
 */
export function createLoggers(config: AppConfig): Loggers {
  const { logging, service } = config;
  const dir = join(logging.dir, service);
  const streams: Writable[] = [];
  const open = <T extends Writable>(stream: T): T => {
    streams.push(stream);
    return stream;
  };

  const stdout = logging.level === 'silent' ? undefined : open(openStdout(logging.format));
  let files: Partial<Record<LogChannel, Writable>> = {};
  if (logging.toFiles) {
    prepareLogDirectory(dir);
    const channels: LogChannel[] =
      service === 'api' ? ['access', 'app', 'errors', 'security'] : ['app', 'errors', 'security'];
    files = Object.fromEntries(
      channels.map((channel) => [channel, open(openLogFile(channel, { ...logging, dir }))]),
    );
  }

  // Access and security lines are always kept in their files, even when LOG_LEVEL is quieter.
  const build = (channel: Exclude<LogChannel, 'errors'>, fileLevel: LogLevel): Logger => {
    const entries: StreamEntry[] = [];
    if (stdout)
      entries.push({ level: logging.level as Level, stream: stdout as DestinationStream });
    const file = files[channel];
    if (file) entries.push({ level: fileLevel as Level, stream: file as DestinationStream });
    if (files.errors) entries.push({ level: 'error', stream: files.errors as DestinationStream });
    const level = lowerOf(logging.level, fileLevel);
    return pino(
      {
        level: level === 'silent' ? 'silent' : level,
        base: {
          pid: process.pid,
          hostname: hostname(),
          service,
          environment: config.environment,
          channel,
        },
        timestamp: isoTime,
        messageKey: 'msg',
        formatters: {
          level: (label) => ({ level: label }),
          log: (object) => redact(object) as Record<string, unknown>,
        },
        mixin: () => logContextFields(),
        hooks: {
          logMethod(args, method, levelNumber) {
            const label = this.levels.labels[levelNumber] ?? String(levelNumber);
            for (const listener of lineListeners) listener(label, service);
            method.apply(this, args);
          },
        },
      },
      entries.length > 0 ? pino.multistream(entries) : pino.destination('/dev/null'),
    );
  };

  const app = build('app', logging.level);
  const access = build('access', lowerOf(logging.level, 'info')).child({ context: 'HttpAccess' });
  const security = build('security', lowerOf(logging.level, 'info')).child({ context: 'Security' });

  return {
    app,
    access,
    security,
    close: () => closeStreams(streams),
  };
}

async function closeStreams(streams: Writable[]): Promise<void> {
  await Promise.all(
    streams.map(
      (stream) =>
        new Promise<void>((resolve) => {
          if (stream.writableFinished || stream.destroyed) return resolve();
          const timer = setTimeout(resolve, 2000);
          stream.once('finish', () => (clearTimeout(timer), resolve()));
          stream.once('close', () => (clearTimeout(timer), resolve()));
          stream.once('error', () => (clearTimeout(timer), resolve()));
          stream.end();
        }),
    ),
  );
}
