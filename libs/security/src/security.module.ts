import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKeyGuard } from './api-keys/api-key.guard';
import { ApiKey } from './api-keys/api-key.entity';
import { ApiKeyService } from './api-keys/api-key.service';
import { BanList } from './rate-limit/ban-list';
import { RateLimitMiddleware } from './rate-limit/rate-limit.middleware';

/** API keys, bans and the rate limiter. The api adds the guard with `SecurityModule.forApi()`. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey])],
  providers: [ApiKeyService, BanList, RateLimitMiddleware],
  exports: [ApiKeyService, BanList, RateLimitMiddleware],
})
export class SecurityModule {
  static forApi() {
    return {
      module: SecurityModule,
      providers: [{ provide: APP_GUARD, useClass: ApiKeyGuard }],
    };
  }
}
