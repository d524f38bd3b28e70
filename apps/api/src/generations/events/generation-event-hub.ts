import { AppConfig } from '@app/config';
import { StoredEvent, eventChannelOf, parseEventMessage } from '@app/generations';
import { withTimeout } from '@app/lifecycle';
import { RedisClient, createRedisConnection } from '@app/redis';
import { Injectable, OnApplicationShutdown } from '@nestjs/common';

/** How long a stream waits for its subscription before it answers 503. */
const SUBSCRIBE_TIMEOUT_MS = 2000;

type Listener = (event: StoredEvent) => void;

/**
 * One Redis subscription connection per api process for every open event stream: a channel per
 * generation, subscribed while at least one stream of it is open here, so that a replica hears
 * only the generations its clients watch (an idle stream costs a map entry, a timer and a
 * socket). Opened with the first stream; ioredis subscribes again after a reconnection.
 */
@Injectable()
export class GenerationEventHub implements OnApplicationShutdown {
  private subscriber?: RedisClient;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly config: AppConfig) {}

  /** Calls `listener` with each event of the generation published from now on. */
  async listen(generationId: string, listener: Listener): Promise<() => void> {
    const channel = eventChannelOf(generationId);
    const subscriber = this.connection();
    let listeners = this.listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.listeners.set(channel, listeners);
    }
    listeners.add(listener);
    const stop = (): void => {
      const current = this.listeners.get(channel);
      if (!current?.delete(listener) || current.size > 0) return;
      this.listeners.delete(channel);
      subscriber.unsubscribe(channel).catch(() => undefined);
    };
    try {
      await withTimeout(subscriber.subscribe(channel), SUBSCRIBE_TIMEOUT_MS, 'the event log');
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  /** Streams open in this process, by generation (for tests and the bench). */
  get channels(): number {
    return this.listeners.size;
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.subscriber) return;
    await this.subscriber.quit().catch(() => undefined);
    this.subscriber.disconnect();
  }

  private connection(): RedisClient {
    if (this.subscriber) return this.subscriber;
    const subscriber = createRedisConnection(this.config.redis, 'subscriber');
    subscriber.on('message', (channel: string, message: string) => {
      const event = parseEventMessage(message);
      if (!event) return;
      for (const listener of this.listeners.get(channel) ?? []) listener(event);
    });
    this.subscriber = subscriber;
    return subscriber;
  }
}
