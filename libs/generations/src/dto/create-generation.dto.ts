import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class CreateGenerationDto {
  /** What to generate from: 1 to 20,000 characters (JavaScript string length). */
  @ApiProperty({ minLength: 1, maxLength: 20000, example: 'Write a haiku about rockets' })
  @IsString()
  @Length(1, 20000)
  prompt: string;

  /** The provider's model; the provider's default when omitted. */
  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 128,
    description: "The provider's model; its default when omitted (local provider: local-dev-echo)",
  })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(/^[\x21-\x7E]+$/, { message: 'model must be printable ASCII without spaces' })
  model?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 4096 })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(4096)
  maxTokens?: number;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;
}

export class ListGenerationsQuery {
  @ApiPropertyOptional({ enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
  @IsOptional()
  @IsString()
  @Matches(/^(queued|running|succeeded|failed|cancelled)$/, {
    message: 'status must be one of queued, running, succeeded, failed, cancelled',
  })
  status?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page', maxLength: 200 })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  cursor?: string;
}
