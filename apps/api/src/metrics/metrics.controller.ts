import { AppConfig } from '@app/config';
import { AppException, errorMessage } from '@app/exceptions';
import { METRICS_TOKEN_REQUIRED } from '@app/health';
import { metricsAccess, renderMetrics } from '@app/metrics';
import { Public } from '@app/security';
import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

/**
 * Prometheus scrape endpoint. No API key and never rate limited; with METRICS_TOKEN set it needs
 * `Authorization: Bearer <METRICS_TOKEN>`. METRICS_ENABLED=false makes it a 404 like any unknown
 * route.
 */
@ApiTags('monitoring')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly config: AppConfig) {}

  @Public()
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiBearerAuth('metricsToken')
  @ApiProduces('text/plain')
  @ApiResponse({ status: 200, description: 'Prometheus text format 0.0.4' })
  @ApiResponse({ status: 401, description: 'UNAUTHORIZED: METRICS_TOKEN is set and was not sent' })
  async metrics(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    if (!this.config.metrics.enabled) {
      throw new AppException(
        404,
        errorMessage('finding resource', 'the requested resource does not exist'),
      );
    }
    if (metricsAccess(this.config.metrics.token, authorization) !== 'allowed') {
      throw new AppException(401, METRICS_TOKEN_REQUIRED, {
        code: 'UNAUTHORIZED',
        headers: { 'WWW-Authenticate': 'Bearer realm="metrics"' },
      });
    }
    const { body, contentType } = await renderMetrics();
    res.setHeader('Content-Type', contentType);
    return body;
  }
}
