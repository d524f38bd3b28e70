import { ApiProperty } from '@nestjs/swagger';

/** What one key used on one UTC day. */
export class UsageDayView {
  @ApiProperty({ format: 'date', example: '2026-12-01' })
  date: string;

  @ApiProperty({ type: 'integer', description: 'generations created that day' })
  generations: number;

  @ApiProperty({ type: 'integer', description: 'generations that succeeded that day' })
  succeeded: number;

  @ApiProperty({ type: 'integer', description: 'generations that failed for good that day' })
  failed: number;

  @ApiProperty({ type: 'integer', description: 'generations cancelled that day' })
  cancelled: number;

  @ApiProperty({
    type: 'integer',
    description: 'prompt tokens of the attempts that ended that day',
  })
  promptTokens: number;

  @ApiProperty({
    type: 'integer',
    description: 'completion tokens of the attempts that ended that day',
  })
  completionTokens: number;
}

/** The calling key's limits (its own values, else the configured defaults). */
export class KeyLimitsView {
  @ApiProperty({ type: 'integer', description: 'requests per minute over every /api/v1 route' })
  requestsPerMinute: number;

  @ApiProperty({ type: 'integer', description: 'POST /api/v1/generations per minute' })
  generationsPerMinute: number;

  @ApiProperty({ type: 'integer', description: 'generations queued or running at once' })
  maxActive: number;

  @ApiProperty({ type: 'integer', description: 'tokens per UTC day; 0: no budget' })
  dailyTokens: number;
}

/** `GET /api/v1/usage`: every day of the range, oldest first (days without use are zeros). */
export class UsageView {
  @ApiProperty({ type: KeyLimitsView })
  limits: KeyLimitsView;

  @ApiProperty({ type: UsageDayView, isArray: true })
  days: UsageDayView[];
}
