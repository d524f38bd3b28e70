import { AppConfig } from '@app/config';
import { Global, Inject, Module, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import {
  RedisClient,
  checkEvictionPolicy,
  createRedisConnection,
} from './redis-connection.factory';
import { describeRedis } from './redis-endpoint';
import { REDIS_CLIENT } from './redis.constants';

/**
 * The shared command client. Start-up never waits for Redis: the client connects in the
 * background and reconnects by itself.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_CLIENT,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => createRedisConnection(config.redis, 'command'),
    },
  ],
  exports: [REDIS_CLIENT],
})
export class RedisModule implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    const endpoint = describeRedis(this.config.redis);
    // Checked on every (re)connection: a failover may land on a differently configured server.
    this.redis.on('ready', () => {
      checkEvictionPolicy(this.redis, endpoint).catch(() => undefined);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => undefined);
    // a Sentinel client's failover detector keeps its sentinel subscriptions after QUIT
    this.redis.disconnect();
  }
}
