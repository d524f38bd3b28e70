import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';

/** The three headers of the Standard Webhooks scheme. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs deliveries as the Standard Webhooks specification says, with the reference
 * implementation (`standardwebhooks`): `v1,<base64 HMAC-SHA256 of id.timestamp.body>` under
 * each WEBHOOK_SECRET key, space-separated — during a rotation a receiver holding either key
 * verifies. Each attempt is signed afresh (receivers refuse timestamps older than 5 minutes).
 */
@Injectable()
export class WebhookSigner {
  private readonly keys: Webhook[];

  constructor(config: AppConfig) {
    this.keys = config.webhooks.secrets.map((secret) => new Webhook(secret));
  }

  /** Whether deliveries can be signed at all (WEBHOOK_SECRET is set). */
  get configured(): boolean {
    return this.keys.length > 0;
  }

  headers(id: string, body: string, now = new Date()): WebhookHeaders {
    return {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': this.keys.map((key) => key.sign(id, now, body)).join(' '),
    };
  }
}
