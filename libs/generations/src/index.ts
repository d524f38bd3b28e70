export { CreateGenerationDto } from './dto/create-generation.dto';
export { ListGenerationsQuery } from './dto/list-generations.query';
export {
  GENERATIONS_QUEUE,
  GENERATION_RETENTION_QUEUE,
  GenerationJobData,
  GenerationQueue,
} from './generation-queue';
export { FINISHED_STATUSES, Generation } from './generation.entity';
export { KeyUsage } from './usage/key-usage.entity';
export { UsageQuery } from './usage/usage.query';
export { UsageService } from './usage/usage.service';
export { KeyLimitsView, UsageDayView, UsageView } from './usage/usage.view';
export { GenerationStore } from './generation.store';
export type { PendingDelivery, UnfinishedGeneration } from './generation.store';
export { GenerationPage, GenerationView, toView } from './generation.view';
export { GenerationsModule } from './generations.module';
export { GenerationsService, secondsToNextUtcDay } from './generations.service';
export {
  DeltaListener,
  FinalProviderError,
  GenAiProvider,
  RetryableProviderError,
} from './providers/genai-provider';
export { GENAI_PROVIDER } from './providers/genai-providers';
export { estimateTokens } from './providers/token-estimate';
export * from './events';
export {
  GenerationWebhooks,
  WEBHOOKS_QUEUE,
  WEBHOOK_BACKOFF,
  WebhookJobData,
} from './webhooks/generation-webhooks';
