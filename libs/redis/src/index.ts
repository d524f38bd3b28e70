export { createRedisConnection, waitUntilReady } from './redis-connection.factory';
export { REDIS_CLIENT } from './redis.constants';
export { RedisModule } from './redis.module';
