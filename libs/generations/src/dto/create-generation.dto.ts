import { Type } from 'class-transformer';
import { IsInt, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class CreateGenerationDto {
  /** What to generate from: 1 to 20,000 characters (JavaScript string length). */
  @IsString()
  @Length(1, 20000)
  prompt: string;

  /** The provider's model; the provider's default when omitted. */
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(/^[\x21-\x7E]+$/, { message: 'model must be printable ASCII without spaces' })
  model?: string;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(4096)
  maxTokens?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;
}

export class ListGenerationsQuery {
  @IsOptional()
  @IsString()
  @Matches(/^(queued|running|succeeded|failed|cancelled)$/, {
    message: 'status must be one of queued, running, succeeded, failed, cancelled',
  })
  status?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @IsOptional()
  @IsString()
  @Length(1, 200)
  cursor?: string;
}
