import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey } from './api-keys/api-key.entity';
import { ApiKeyService } from './api-keys/api-key.service';
import { BanList } from './rate-limit/ban-list';
import { RateLimitMiddleware } from './rate-limit/rate-limit.middleware';

/**
 * API keys, bans and the rate limiter. The api puts `ApiKeyGuard` in front of its routes; the
 * CLI uses the key service and the ban list.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  providers: [ApiKeyService, BanList, RateLimitMiddleware],
  exports: [ApiKeyService, BanList, RateLimitMiddleware],
})
export class SecurityModule {}
