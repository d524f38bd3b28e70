import { createRedisConnection } from '@app/redis';
import { OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';

/**
 * Bull does not close connections it did not create itself, so the ones made for it are kept
 * here and closed at shutdown.
 */
export class BullConnections implements OnApplicationShutdown {
  private readonly connections: Redis[] = [];

  constructor(private readonly url: string) {}

  create = (type: 'client' | 'subscriber' | 'bclient'): Redis => {
    const connection = createRedisConnection(this.url, type);
    this.connections.push(connection);
    return connection;
  };

  async onApplicationShutdown(): Promise<void> {
    await this.closeAll();
  }

  async closeAll(): Promise<void> {
    await Promise.all(
      this.connections.map((connection) =>
        connection.status === 'ready'
          ? connection.quit().catch(() => connection.disconnect())
          : Promise.resolve(connection.disconnect()),
      ),
    );
  }
}
