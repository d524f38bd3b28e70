import { INestApplication, INestApplicationContext } from '@nestjs/common';
import type { Server } from 'node:http';
import { InFlightRequests } from './in-flight-requests';
import { closeLoggers, getLogger } from '@app/logging';
import { shutdownTracing } from '@app/tracing';
import { setTimeout as sleep } from 'node:timers/promises';
import { ShutdownState } from './shutdown-state';
import { TimeoutError, withTimeout } from './with-timeout';

export interface GracefulShutdownOptions {
  /** Readiness answers 503 this long before the server stops accepting (SHUTDOWN_DRAIN_DELAY_MS). */
  drainDelayMs: number;
  /** Limit for closing everything after the delay (SHUTDOWN_TIMEOUT_MS); past it, a hard stop. */
  timeoutMs: number;
  signals?: NodeJS.Signals[];
}

const logger = getLogger('Shutdown');
/** A repeated signal within this long is the same request to stop, not a second one. */
const REPEAT_GRACE_MS = 1000;

/**
 * Replaces Nest's shutdown hooks, which end by re-sending the signal (exit 143, lost log lines)
 * and have no time limit: on SIGTERM/SIGINT readiness turns 503 at once, requests are still
 * served for the drain delay, then `app.close()` runs Nest's hooks within the timeout, logs are
 * flushed, and the process exits 0 — or 1 after an error line if the timeout passes. A second
 * signal while shutting down (more than a second after the first) stops at once.
 */
export function enableGracefulShutdown(
  app: INestApplicationContext,
  options: GracefulShutdownOptions,
): void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const state = app.get(ShutdownState);
  let firstSignalAt = 0;

  const exit = async (code: number): Promise<never> => {
    await closeLoggers();
    process.exit(code);
  };

  const onSignal = async (signal: NodeJS.Signals): Promise<void> => {
    if (firstSignalAt > 0) {
      // The same Ctrl-C often arrives twice (terminal and process manager): only a later one forces.
      if (Date.now() - firstSignalAt < REPEAT_GRACE_MS) return;
      logger.warn({ signal }, `received ${signal} again; stopping now`);
      await exit(1);
    }
    firstSignalAt = Date.now();
    state.begin();
    logger.info(
      { signal, drainDelayMs: options.drainDelayMs, timeoutMs: options.timeoutMs },
      `received ${signal}; shutting down`,
    );
    if (options.drainDelayMs > 0) await sleep(options.drainDelayMs);
    // event streams end with a retry hint; their clients reconnect to a replica that stays
    state.endDrain();

    const close = async (): Promise<void> => {
      // Stop accepting and let open connections finish, then wait for handlers whose client
      // already left, and only then let Nest's hooks close queues and pools under them.
      const http = app as Partial<INestApplication>;
      if (typeof http.getHttpServer === 'function') {
        const server = http.getHttpServer() as Server;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await app.get(InFlightRequests).drained();
      }
      await app.close();
      // spans of the last requests and jobs reach the collector before exit
      await shutdownTracing();
    };
    try {
      await withTimeout(close(), options.timeoutMs, 'shutdown');
      logger.info('shutdown complete');
      await exit(0);
    } catch (error) {
      if (error instanceof TimeoutError) {
        logger.error(
          { timeoutMs: options.timeoutMs },
          `Error shutting down: not finished within ${options.timeoutMs} ms; stopping hard`,
        );
      } else {
        logger.error({ err: error }, 'Error shutting down: a shutdown hook failed');
      }
      await exit(1);
    }
  };

  for (const signal of signals) process.on(signal, (received) => void onSignal(received));
}
