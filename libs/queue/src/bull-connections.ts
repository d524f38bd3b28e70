import { createRedisConnection } from '@app/redis';
import Redis from 'ioredis';

/**
 * Bull does not close connections it did not create itself, so the ones made for it are kept
 * here. They are not closed from a shutdown hook: Nest gives no order between hooks, and a queue
 * still finishing its active jobs needs them. The process exit closes them after `app.close()`.
 */
export class BullConnections {
  private readonly connections: Redis[] = [];

  constructor(private readonly url: string) {}

  create = (type: 'client' | 'subscriber' | 'bclient'): Redis => {
    const connection = createRedisConnection(this.url, type);
    this.connections.push(connection);
    return connection;
  };

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
