import { SkipThrottle } from '@nestjs/throttler';
import { HealthBody, HealthReport, HealthReportService } from '@app/health';
import { AdminOnly, Public, PublicOutsideProduction } from '@app/security';
import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

function answer(res: Response, report: HealthReport): HealthBody {
  res.status(report.httpStatus);
  return report.body;
}

/**
 * Probes and monitoring. Never rate limited nor banned; bodies keep Terminus's shape on 200 and
 * 503 alike, as JSON (`JsonReplyExpressAdapter` writes every object answer so, whatever the
 * status). The detailed report needs an admin API key in production. Liveness, `GET /health`,
 * is a route of the HTTP layer (`mountLiveness`): it needs nothing of this chain.
 */
@ApiTags('health')
@SkipThrottle()
@Controller('health')
export class HealthController {
  constructor(private readonly reports: HealthReportService) {}

  /** Readiness: PostgreSQL and Redis; 503 when either is down and from SIGTERM on. */
  @Public()
  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL and Redis' })
  @ApiResponse({
    status: 503,
    description: 'A dependency is down, or the process is shutting down',
  })
  async readiness(@Res({ passthrough: true }) res: Response): Promise<HealthBody> {
    return answer(res, await this.reports.readiness());
  }

  @Public()
  @Get('database')
  @ApiOperation({ summary: 'PostgreSQL and pool statistics' })
  @ApiResponse({ status: 503, description: 'PostgreSQL is down' })
  async database(@Res({ passthrough: true }) res: Response): Promise<HealthBody> {
    return answer(res, await this.reports.databaseReport());
  }

  @PublicOutsideProduction()
  @AdminOnly()
  @Get('detailed')
  @ApiOperation({ summary: 'Everything, with workers online (admin key in production)' })
  @ApiResponse({ status: 401, description: 'Production: no API key' })
  @ApiResponse({ status: 403, description: 'Production: not an admin key' })
  @ApiResponse({ status: 503, description: 'Something is down, or no worker is online' })
  async detailed(@Res({ passthrough: true }) res: Response): Promise<HealthBody> {
    return answer(res, await this.reports.detailed());
  }
}
