import type { AppConfig } from '@app/config';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { retryAfterMsOf } from './webhook-sender';
import { WebhookSigner } from './webhook-signer';

const key = () => `whsec_${randomBytes(32).toString('base64')}`;
const signer = (...secrets: string[]) =>
  new WebhookSigner({ webhooks: { secrets } } as unknown as AppConfig);

describe('WebhookSigner', () => {
  it("signs so that the scheme's reference verification accepts it, under every key of a rotation", () => {
    const [current, previous] = [key(), key()];
    const body = JSON.stringify({ type: 'generation.succeeded', data: { id: 'x' } });
    const headers = signer(current, previous).headers('msg_1', body);
    expect(headers['webhook-id']).toBe('msg_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+ v1,[A-Za-z0-9+/=]+$/);
    for (const secret of [current, previous])
      expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    expect(() => new Webhook(key()).verify(body, { ...headers })).toThrow();
    expect(() => new Webhook(current).verify(`${body} `, { ...headers })).toThrow();
  });

  it('signs each attempt afresh: a timestamp of its own', () => {
    const sign = signer(key());
    const first = sign.headers('msg_1', '{}', new Date('2026-12-03T10:00:00Z'));
    const second = sign.headers('msg_1', '{}', new Date('2026-12-03T10:00:05Z'));
    expect(Number(second['webhook-timestamp']) - Number(first['webhook-timestamp'])).toBe(5);
    expect(second['webhook-signature']).not.toBe(first['webhook-signature']);
    expect(signer().configured).toBe(false);
  });
});

describe('retryAfterMsOf', () => {
  it('reads seconds and HTTP dates, and honours at most an hour', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(retryAfterMsOf('3', now)).toBe(3000);
    expect(retryAfterMsOf('Thu, 03 Dec 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(retryAfterMsOf('86400', now)).toBe(3_600_000);
    expect(retryAfterMsOf('Thu, 03 Dec 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMsOf('soon', now)).toBeUndefined();
    expect(retryAfterMsOf(undefined, now)).toBeUndefined();
  });
});
