import { SkipThrottle } from '@nestjs/throttler';
import { MetricsService } from '@app/metrics';
import { BanList, Public, clientIp, securityEvent } from '@app/security';
import { Controller, Get, Headers, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';

/**
 * Prometheus scrape endpoint. No API key and never rate limited; with METRICS_TOKEN set it needs
 * `Authorization: Bearer <METRICS_TOKEN>`. METRICS_ENABLED=false makes it a 404 like any unknown
 * route.
 */
@ApiTags('monitoring')
@SkipThrottle()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly bans: BanList,
  ) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiBearerAuth('metricsToken')
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'Prometheus text format 0.0.4' })
  @ApiResponse({ status: 401, description: 'UNAUTHORIZED: METRICS_TOKEN is set and was not sent' })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    if (this.metrics.enabled && this.metrics.isWrongToken(authorization)) {
      const ip = clientIp(req);
      securityEvent(
        'auth_failed',
        { ip, reason: 'wrong metrics token', path: req.path },
        'metrics token rejected',
      );
      await this.bans.recordFailedCredential(ip);
    }
    const { body, contentType } = await this.metrics.scrape(authorization);
    res.setHeader('Content-Type', contentType);
    return body;
  }
}
