import { ApiProperty } from '@nestjs/swagger';

class UsageResponse {
  @ApiProperty({ type: 'integer', nullable: true })
  promptTokens: number | null;

  @ApiProperty({ type: 'integer', nullable: true })
  completionTokens: number | null;
}

/** The documented shape of a generation (what `toView` returns). */
export class GenerationResponse {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ['queued', 'running', 'succeeded', 'failed', 'cancelled'] })
  status: string;

  @ApiProperty()
  prompt: string;

  @ApiProperty({ example: 'local-dev-echo' })
  model: string;

  @ApiProperty({ type: 'string', nullable: true })
  result: string | null;

  @ApiProperty({ type: 'string', nullable: true })
  error: string | null;

  @ApiProperty({ type: 'integer' })
  attempts: number;

  @ApiProperty({ type: UsageResponse })
  usage: UsageResponse;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  startedAt: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  completedAt: string | null;
}

export class GenerationPageResponse {
  @ApiProperty({ type: [GenerationResponse] })
  items: GenerationResponse[];

  @ApiProperty({ type: 'string', nullable: true })
  nextCursor: string | null;
}

export class MeResponse {
  @ApiProperty()
  userId: string;

  @ApiProperty({ format: 'uuid' })
  keyId: string;

  @ApiProperty()
  keyName: string;

  @ApiProperty()
  admin: boolean;
}
