export * from './redis-connection.factory';
export * from './redis-endpoint';
export * from './redis.constants';
export * from './redis.module';
