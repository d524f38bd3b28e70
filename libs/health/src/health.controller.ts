import { AdminOnly, Public, PublicOutsideProduction } from '@app/security';
import { Controller, Get, Header } from '@nestjs/common';
import { HealthCheckResult } from '@nestjs/terminus';
import { HealthBody, HealthReportService } from './health-report.service';

/**
 * Probes and monitoring. Never rate limited nor banned; bodies keep Terminus's shape on 200 and
 * 503 alike. The detailed report needs an admin API key in production.
 */
@Controller('health')
export class HealthController {
  constructor(private readonly reports: HealthReportService) {}

  /** Liveness: answers while the process does; never asks PostgreSQL or Redis. */
  @Public()
  @Get()
  @Header('Content-Type', 'application/json')
  liveness(): HealthBody {
    return this.reports.liveness();
  }

  /** Readiness: PostgreSQL and Redis; 503 when either is down and from SIGTERM on. */
  @Public()
  @Get('ready')
  @Header('Content-Type', 'application/json')
  readiness(): Promise<HealthCheckResult> {
    return this.reports.readiness();
  }

  @Public()
  @Get('database')
  @Header('Content-Type', 'application/json')
  database(): Promise<HealthCheckResult> {
    return this.reports.databaseReport();
  }

  @PublicOutsideProduction()
  @AdminOnly()
  @Get('detailed')
  @Header('Content-Type', 'application/json')
  detailed(): Promise<HealthCheckResult> {
    return this.reports.detailed();
  }
}
