import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { withTimeout } from '@app/lifecycle';
import { reasonOf } from '../report/health-body';

/** The pg pool behind TypeORM, as much of it as the health report reads. */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max: number };
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

/** PostgreSQL: a ping with its response time, and the pool's statistics. */
@Injectable()
export class DatabaseHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  poolStats(): PoolStats {
    const pool = (this.dataSource.driver as unknown as { master?: PgPool }).master;
    return {
      total: pool?.totalCount ?? 0,
      idle: pool?.idleCount ?? 0,
      waiting: pool?.waitingCount ?? 0,
      max: pool?.options.max ?? this.config.database.poolMax,
    };
  }

  async ping(key = 'database'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    const started = performance.now();
    try {
      await withTimeout(
        this.dataSource.query('SELECT 1'),
        this.config.health.checkTimeoutMs,
        'PostgreSQL',
      );
      return check.up({ responseTimeMs: round(performance.now() - started) });
    } catch (error) {
      return check.down({ message: reasonOf(error) });
    }
  }

  /** The ping, then the pool's statistics as they are once it has finished. */
  async pingWithPool(): Promise<HealthIndicatorResult> {
    const ping = await this.ping();
    return { ...ping, ...this.pool() };
  }

  /** Down when requests queue for a connection beyond the pool's own size. */
  pool(key = 'pool'): HealthIndicatorResult {
    const check = this.health.check(key);
    const stats = this.poolStats();
    return stats.waiting > stats.max
      ? check.down({ ...stats, message: `${stats.waiting} queries are waiting for a connection` })
      : check.up({ ...stats });
  }
}

export function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
