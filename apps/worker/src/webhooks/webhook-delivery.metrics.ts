import { registry } from '@app/metrics';
import { Counter, Histogram } from 'prom-client';

/** How one delivery attempt ended: delivered (2xx), retried later, or failed for good. */
export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

export const webhookDeliveriesTotal = new Counter({
  name: 'webhook_deliveries_total',
  help: 'Webhook delivery attempts, by outcome (delivered, retried, failed)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const webhookDeliveryDuration = new Histogram({
  name: 'webhook_delivery_duration_seconds',
  help: 'Duration of webhook delivery attempts (connection to status line), by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
