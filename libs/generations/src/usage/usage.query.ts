import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, Matches } from 'class-validator';

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MESSAGE = (field: string) => `${field} must be a date as YYYY-MM-DD (UTC)`;

/** `GET /api/v1/usage?from=YYYY-MM-DD&to=YYYY-MM-DD` (UTC days, both included). */
export class UsageQuery {
  @ApiPropertyOptional({
    format: 'date',
    description: 'first UTC day; default: 6 days before `to`',
  })
  @IsOptional()
  @Matches(DAY, { message: DAY_MESSAGE('from') })
  @IsISO8601({ strict: true }, { message: DAY_MESSAGE('from') })
  from?: string;

  @ApiPropertyOptional({ format: 'date', description: 'last UTC day; default: today' })
  @IsOptional()
  @Matches(DAY, { message: DAY_MESSAGE('to') })
  @IsISO8601({ strict: true }, { message: DAY_MESSAGE('to') })
  to?: string;
}
