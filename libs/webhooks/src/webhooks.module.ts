import { AppConfig } from '@app/config';
import { Module } from '@nestjs/common';
import { DnsHostResolver } from './host-resolver';
import { ReceiverPolicy } from './receiver-policy';
import { HOST_RESOLVER } from './tokens';
import { WebhookSender } from './webhook-sender';
import { WebhookSigner } from './webhook-signer';

/**
 * Webhook delivery, independent of what is delivered: the receiver rules (address checks and
 * the resolver behind them), the Standard Webhooks signature, the HTTP attempt.
 */
@Module({
  providers: [
    {
      provide: HOST_RESOLVER,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new DnsHostResolver(config.webhooks.dnsServers),
    },
    ReceiverPolicy,
    WebhookSigner,
    WebhookSender,
  ],
  exports: [ReceiverPolicy, WebhookSigner, WebhookSender],
})
export class WebhooksModule {}
