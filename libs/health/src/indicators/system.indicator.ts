import { AppConfig } from '@app/config';
import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { statfs } from 'node:fs/promises';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { resolve } from 'node:path';
import { withTimeout } from '@app/lifecycle';
import { reasonOf } from '../report/health-body';

const MB = 1024 * 1024;

/** The machine: disk (of the log folder), the process's memory, and CPU load. */
@Injectable()
export class SystemHealthIndicator {
  constructor(
    private readonly health: HealthIndicatorService,
    private readonly config: AppConfig,
  ) {}

  async disk(key = 'disk'): Promise<HealthIndicatorResult> {
    const check = this.health.check(key);
    const path = resolve(this.config.logging.dir);
    try {
      const stats = await withTimeout(statfs(path), this.config.health.checkTimeoutMs, 'disk');
      const total = stats.blocks * stats.bsize;
      const free = stats.bavail * stats.bsize;
      const usedFraction = total > 0 ? Math.round(((total - free) / total) * 10000) / 10000 : 0;
      const details = {
        path,
        totalBytes: total,
        freeBytes: free,
        usedFraction,
        threshold: this.config.health.diskThreshold,
      };
      return usedFraction > this.config.health.diskThreshold
        ? check.down({ ...details, message: 'disk usage is above the threshold' })
        : check.up(details);
    } catch (error) {
      return check.down({ path, message: reasonOf(error) });
    }
  }

  memory(key = 'memory'): HealthIndicatorResult {
    const check = this.health.check(key);
    const usage = process.memoryUsage();
    const details = {
      rssMb: Math.round(usage.rss / MB),
      heapUsedMb: Math.round(usage.heapUsed / MB),
      thresholdMb: this.config.health.memoryRssThresholdMb,
      systemFreeMb: Math.round(freemem() / MB),
      systemTotalMb: Math.round(totalmem() / MB),
    };
    return details.rssMb > details.thresholdMb
      ? check.down({ ...details, message: 'RSS is above the threshold' })
      : check.up(details);
  }

  cpu(key = 'cpu'): HealthIndicatorResult {
    const [load1, load5, load15] = loadavg().map((value) => Math.round(value * 100) / 100);
    return this.health.check(key).up({ load1, load5, load15, cores: cpus().length });
  }
}
