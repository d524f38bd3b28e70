import { UsageQuery, UsageService, UsageView } from '@app/generations';
import { ApiKeyIdentity, CurrentAuth } from '@app/security';
import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../docs/api-errors.decorator';

/** The calling key's usage per UTC day, and the limits it works under. */
@ApiTags('usage')
@ApiProblems()
@Controller('api/v1/usage')
export class UsageController {
  constructor(private readonly usage: UsageService) {}

  @Get()
  @ApiOperation({
    summary:
      "The calling key's usage per UTC day (default: the last 7 days, at most 92) and limits",
  })
  @ApiOkResponse({ type: UsageView })
  async get(@CurrentAuth() auth: ApiKeyIdentity, @Query() query: UsageQuery): Promise<UsageView> {
    const { perMinute, generationsPerMinute, maxActive, dailyTokens } = auth.limits;
    return {
      limits: { requestsPerMinute: perMinute, generationsPerMinute, maxActive, dailyTokens },
      days: await this.usage.usage(auth.keyId, query),
    };
  }
}
