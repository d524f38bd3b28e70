import { AppConfig } from '@app/config';
import { REDIS_CLIENT, RedisClient } from '@app/redis';
import { Cluster } from 'ioredis';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { hostname } from 'node:os';
import { withTimeout } from '@app/lifecycle';
import { reasonOf } from '../report/health-body';
import { round } from './database.indicator';

function infoField(info: string, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Redis: ping with response time, and in detail version, memory, eviction policy and a write
 * probe — a Redis that refuses writes at maxmemory is not healthy.
 */
@Injectable()
export class RedisHealthIndicator {
  private readonly probeKey = `rl:health:probe:${hostname()}:${process.pid}`;

  constructor(
    private readonly health: HealthIndicatorService,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {}

  async ping(key = 'redis'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    const started = performance.now();
    try {
      await withTimeout(this.redis.ping(), this.config.health.checkTimeoutMs, 'Redis');
      return check.up({ responseTimeMs: round(performance.now() - started) });
    } catch (error) {
      return check.down({ message: reasonOf(error) });
    }
  }

  async detailed(key = 'redis'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    const started = performance.now();
    try {
      const info = await withTimeout(
        (async () => {
          const text = await this.redis.info();
          await this.redis.set(this.probeKey, '1', 'PX', 10000);
          return text;
        })(),
        this.config.health.checkTimeoutMs,
        'Redis',
      );
      const evictionPolicy = infoField(info, 'maxmemory_policy');
      const details = {
        responseTimeMs: round(performance.now() - started),
        mode: this.config.redis.mode,
        ...(await withTimeout(this.topology(), this.config.health.checkTimeoutMs, 'Redis')),
        version: infoField(info, 'redis_version'),
        usedMemoryBytes: Number(infoField(info, 'used_memory') ?? 0),
        maxMemoryBytes: Number(infoField(info, 'maxmemory') ?? 0),
        evictionPolicy,
        evictionPolicyOk: evictionPolicy === 'noeviction',
        writable: true,
      };
      return check.up(details);
    } catch (error) {
      return check.down({ mode: this.config.redis.mode, message: reasonOf(error) });
    }
  }

  /**
   * Where the client is now (admin-only detail): for Sentinel the master it follows, for a
   * Cluster the state and every node with its role and connection.
   */
  private async topology(): Promise<Record<string, unknown>> {
    const redis = this.redis;
    if (redis instanceof Cluster) {
      const info = String(await redis.cluster('INFO'));
      return {
        clusterState: infoField(info, 'cluster_state'),
        clusterSlotsOk: Number(infoField(info, 'cluster_slots_ok') ?? 0),
        nodes: redis
          .nodes()
          .map((node) => ({
            address: `${node.options.host}:${node.options.port}`,
            role: node.options.readOnly ? 'replica' : 'master',
            status: node.status,
          }))
          .sort((a, b) => a.address.localeCompare(b.address)),
      };
    }
    if (this.config.redis.mode === 'sentinel') {
      const socket = redis.stream;
      return {
        sentinelMaster: this.config.redis.sentinelName,
        master: socket?.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : undefined,
      };
    }
    return {};
  }
}
