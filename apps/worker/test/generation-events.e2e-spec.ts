import {
  EVENT_LOG_MAX_EVENTS,
  EVENT_LOG_TTL_MS,
  GenerationEvents,
  eventChannelOf,
  parseEventMessage,
} from '@app/generations';
import type { RedisClient } from '@app/redis';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';

/** The event log against a real Redis: what is stored, what is published, the caps. */
describe('GenerationEvents (real Redis)', () => {
  const redis = new Redis('redis://127.0.0.1:6379/12');
  const subscriber = new Redis('redis://127.0.0.1:6379/12');
  const events = new GenerationEvents(redis as unknown as RedisClient);
  afterAll(async () => {
    await Promise.all([redis.quit(), subscriber.quit()]);
  });

  it('stores events in order with their ids, publishes each as it is stored, and keeps them ten minutes', async () => {
    const id = randomUUID();
    const published: string[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === eventChannelOf(id)) published.push(message);
    });
    await subscriber.subscribe(eventChannelOf(id));
    const startedAt = new Date('2026-12-03T10:00:00.000Z');
    await events.status({ id, status: 'running', attempts: 1, startedAt, completedAt: null });
    await events.delta(id, 1, 0, 'hello ');
    await events.delta(id, 1, 1, 'world');
    await events.done(id, 'succeeded');
    const stored = await events.after(id, '0');
    expect(stored.map((event) => [event.id, event.type])).toEqual([
      ['1', 'status'],
      ['2', 'delta'],
      ['3', 'delta'],
      ['4', 'done'],
    ]);
    expect(JSON.parse(stored[0].data)).toEqual({
      id,
      status: 'running',
      attempts: 1,
      startedAt: '2026-12-03T10:00:00.000Z',
      completedAt: null,
    });
    expect(JSON.parse(stored[2].data)).toEqual({ attempt: 1, index: 1, text: 'world' });
    expect((await events.after(id, '2')).map((event) => event.id)).toEqual(['3', '4']);
    expect(await events.lastId(id)).toBe('4');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(published.map((message) => parseEventMessage(message))).toEqual(stored);
    const ttl = await redis.pttl(eventChannelOf(id));
    expect(ttl).toBeGreaterThan(EVENT_LOG_TTL_MS - 5000);
    expect(ttl).toBeLessThanOrEqual(EVENT_LOG_TTL_MS);
    expect(await events.lastId(randomUUID())).toBeUndefined();
  });

  it('stores at most EVENT_LOG_MAX_EVENTS events, but always the done', async () => {
    const id = randomUUID();
    await Promise.all(
      Array.from({ length: EVENT_LOG_MAX_EVENTS + 5 }, (_, index) =>
        events.delta(id, 1, index, 'x'),
      ),
    );
    await events.done(id, 'succeeded');
    const stored = await events.after(id, '0');
    expect(stored).toHaveLength(EVENT_LOG_MAX_EVENTS + 1);
    expect(stored[stored.length - 1].type).toBe('done');
  });

  it('loses nothing of the generation when Redis refuses an event', async () => {
    const closed = new Redis('redis://127.0.0.1:6379/12', {
      lazyConnect: true,
      enableOfflineQueue: false,
    });
    const offline = new GenerationEvents(closed as unknown as RedisClient);
    await expect(offline.done(randomUUID(), 'failed')).resolves.toBeUndefined();
    closed.disconnect();
  });
});
