export { DnsHostResolver, HostResolutionError, HostResolver } from './host-resolver';
export { addressLiteralOf, isPublicAddress } from './receiver-address';
export {
  CALLBACK_URL_MAX_LENGTH,
  ReceiverPolicy,
  ReceiverRefused,
  ReceiverTarget,
} from './receiver-policy';
export { HOST_RESOLVER } from './tokens';
export {
  DELIVERY_TIMEOUT_MS,
  DeliveryResponse,
  MAX_RETRY_AFTER_MS,
  WebhookSender,
  retryAfterMsOf,
} from './webhook-sender';
export { WebhookHeaders, WebhookSigner } from './webhook-signer';
export { WebhooksModule } from './webhooks.module';
