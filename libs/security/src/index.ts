export { USER_ID_PATTERN } from './api-keys/api-key-format';
export { apiKeyStatus } from './api-keys/api-key-status';
export { ApiKey } from './api-keys/api-key.entity';
export { ApiKeyGuard } from './api-keys/api-key.guard';
export { ApiKeyService } from './api-keys/api-key.service';
export type { ApiKeyIdentity, KeyLimitOverrides } from './api-keys/api-key.service';
export { CurrentAuth } from './api-keys/current-auth.decorator';
export { AdminOnly, Public, PublicOutsideProduction } from './api-keys/public.decorator';
export { securityEvent } from './events/security-event';
export { clientIp, normalizeIp } from './http/client-ip';
export { apiSecurityHeaders, securityHeaders } from './http/security-headers.middleware';
export { BanList } from './rate-limit/ban-list';
export { RateLimitMiddleware, requestClass } from './rate-limit/rate-limit.middleware';
export { SecurityModule } from './security.module';
export { KeyCountedRoutes } from './throttling/key-counted-routes';
export { KeyThrottlerGuard } from './throttling/key-throttler.guard';
export {
  GENERATIONS_POLICY,
  KEY_POLICY_WINDOW_MS,
  keyThrottlerOptions,
} from './throttling/key-throttler.options';
export { KeyThrottlerStorage } from './throttling/key-throttler.storage';
