import { AppException, errorMessage } from '@app/exceptions';
import {
  FINISHED_STATUSES,
  Generation,
  GenerationEvents,
  GenerationsService,
  StoredEvent,
  isAfter,
  toView,
} from '@app/generations';
import { ShutdownState } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { keyLimitRefusalsTotal } from '@app/metrics';
import type { ApiKeyIdentity } from '@app/security';
import { Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { GenerationEventHub } from './generation-event-hub';
import { StreamSlots } from './stream-slots';

/** A comment this often keeps proxies from closing an idle stream (and renews its slot). */
export const HEARTBEAT_MS = 15_000;
/** The reconnection delay a stream ended by a shutdown suggests. */
export const RETRY_AFTER_SHUTDOWN_MS = 1000;
/** An event id (its position in the log), as `Last-Event-ID` must be to resume. */
const EVENT_ID = /^\d{1,9}$/;

const logger = getLogger('GenerationStreams');

/**
 * `GET /api/v1/generations/:id/events` (SPEC §14): the generation's stored events after
 * `Last-Event-ID`, or its current state, then what comes — as it is published, from whichever
 * process makes it — until `done`. Written straight to the socket (no buffering, no Nest `@Sse`
 * numbering: every event has its stored id). Each heartbeat also reads the record, so a stream
 * whose `done` was never published (Redis away at that moment) still ends.
 */
@Injectable()
export class GenerationStreams {
  constructor(
    private readonly generations: GenerationsService,
    private readonly events: GenerationEvents,
    private readonly hub: GenerationEventHub,
    private readonly slots: StreamSlots,
    private readonly shutdown: ShutdownState,
  ) {}

  async serve(
    auth: ApiKeyIdentity,
    id: string,
    lastEventId: string | undefined,
    res: Response,
  ): Promise<void> {
    await this.generations.get(auth.userId, id); // another user's: 404
    const slot = randomUUID();
    if (!(await this.slots.acquire(auth.keyId, slot))) {
      keyLimitRefusalsTotal.inc({ policy: 'max_streams' });
      throw new AppException(
        429,
        errorMessage(
          'opening event stream',
          `this API key has ${this.slots.cap} event streams open, its limit at once; close one first`,
        ),
        { code: 'QUOTA_EXCEEDED' },
      );
    }
    const early: StoredEvent[] = [];
    let onEvent = (event: StoredEvent): void => void early.push(event);
    let stopListening: () => void;
    try {
      stopListening = await this.hub.listen(id, (event) => onEvent(event));
    } catch (error) {
      await this.slots.release(auth.keyId, slot);
      throw new AppException(
        503,
        errorMessage('opening event stream', 'the event log is unavailable; retry later'),
        { cause: error },
      );
    }

    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();

    let lastSent = '0';
    let ended = false;
    let chain = Promise.resolve();
    const heartbeat = setInterval(() => {
      res.write(': keep-alive\n\n');
      void this.slots.renew(auth.keyId, slot);
      queue(() => this.endIfFinished(auth, id, lastSent, send, end));
    }, HEARTBEAT_MS);
    const forgetDrain = this.shutdown.onDrainEnd(() =>
      end(`retry: ${RETRY_AFTER_SHUTDOWN_MS}\n\n`),
    );
    const end = (trailer?: string): void => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      forgetDrain();
      stopListening();
      void this.slots.release(auth.keyId, slot);
      if (!res.writableEnded) res.end(trailer);
    };
    res.on('close', () => end());
    const send = (eventId: string, type: string, data: string): void => {
      if (ended) return;
      res.write(`id: ${eventId}\nevent: ${type}\ndata: ${data}\n\n`);
    };
    /** Events run one after another: a `done` reads the record before anything later is sent. */
    const queue = (step: () => Promise<void>): void => {
      chain = chain.then(step).catch((error: unknown) => {
        logger.error({ err: error, generationId: id }, 'Error serving an event stream');
        end();
      });
    };
    const deliver = async (event: StoredEvent): Promise<void> => {
      if (ended || !isAfter(event.id, lastSent)) return;
      lastSent = event.id;
      if (event.type === 'done') {
        await this.sendDone(auth, id, event.id, send);
        end();
      } else {
        send(event.id, event.type, event.data);
      }
    };

    queue(async () => {
      const last = await this.events.lastId(id);
      if (lastEventId !== undefined && EVENT_ID.test(lastEventId) && last !== undefined) {
        // resume: what was stored after the client's last event
        lastSent = lastEventId;
        for (const event of await this.events.after(id, lastEventId)) await deliver(event);
      } else {
        // the current state, under the id of the last stored event: resuming from it loses nothing
        lastSent = last ?? '0';
        const generation = await this.generations.get(auth.userId, id);
        if (isFinished(generation)) {
          send(lastSent, 'done', JSON.stringify(toView(generation)));
          end();
          return;
        }
        send(lastSent, 'status', JSON.stringify(statusOf(generation)));
      }
      onEvent = (event) => queue(() => deliver(event));
      for (const event of early.splice(0)) await deliver(event);
    });
  }

  private async sendDone(
    auth: ApiKeyIdentity,
    id: string,
    eventId: string,
    send: (eventId: string, type: string, data: string) => void,
  ): Promise<void> {
    const generation = await this.generations.get(auth.userId, id);
    send(eventId, 'done', JSON.stringify(toView(generation)));
  }

  /** The heartbeat's check: a finished record whose `done` never came ends the stream. */
  private async endIfFinished(
    auth: ApiKeyIdentity,
    id: string,
    lastSent: string,
    send: (eventId: string, type: string, data: string) => void,
    end: () => void,
  ): Promise<void> {
    const generation = await this.generations.get(auth.userId, id);
    if (!isFinished(generation)) return;
    send(lastSent, 'done', JSON.stringify(toView(generation)));
    end();
  }
}

function isFinished(generation: Generation): boolean {
  return FINISHED_STATUSES.includes(generation.status);
}

function statusOf(generation: Generation) {
  const view = toView(generation);
  return {
    id: view.id,
    status: view.status,
    attempts: view.attempts,
    startedAt: view.startedAt,
    completedAt: view.completedAt,
  };
}
