export { createRedisConnection, waitUntilReady } from './redis-connection.factory';
export type { RedisClient } from './redis-connection.factory';
export { describeRedis } from './redis-endpoint';
export { REDIS_CLIENT } from './redis.constants';
export { RedisModule } from './redis.module';
