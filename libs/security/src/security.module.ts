import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-keys/api-key.entity';
import { ApiKeyService } from './api-keys/api-key.service';
import { BanList } from './rate-limit/ban-list';
import { RateLimitMiddleware } from './rate-limit/rate-limit.middleware';
import { KeyCountedRoutes } from './throttling/key-counted-routes';
import { KeyThrottlerStorage } from './throttling/key-throttler.storage';

/**
 * API keys, bans, the per-IP rate limiter and the per-key layer's storage. The api puts
 * `ApiKeyGuard` and then `KeyThrottlerGuard` in front of its routes; the CLI uses the key
 * service and the ban list.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  providers: [ApiKeyService, BanList, RateLimitMiddleware, KeyThrottlerStorage, KeyCountedRoutes],
  exports: [ApiKeyService, BanList, RateLimitMiddleware, KeyThrottlerStorage, KeyCountedRoutes],
})
export class SecurityModule {}
