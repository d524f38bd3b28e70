import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';

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

  /**
   * Where to POST the finished generation (SPEC §14): checked by the receiver rules at POST
   * time (`ReceiverPolicy`); the length here, so that a huge value is refused before anything.
   */
  @ApiPropertyOptional({
    format: 'uri',
    maxLength: 2048,
    example: 'https://example.com/hooks/generations',
    description:
      'A webhook receiver told when the generation ends (signed per Standard Webhooks): https (http too outside production), at most 2,048 characters, a public address',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048, { message: 'callbackUrl must be at most 2048 characters' })
  callbackUrl?: string;
}
