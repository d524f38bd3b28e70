import { ApiProperty } from '@nestjs/swagger';
import { GENERATION_STATUSES, Generation, GenerationStatus } from './generation.entity';

class UsageView {
  @ApiProperty({ type: 'integer', nullable: true })
  promptTokens: number | null;

  @ApiProperty({ type: 'integer', nullable: true })
  completionTokens: number | null;
}

/** A generation as the API shows it: what `toView` returns is what the OpenAPI document says. */
export class GenerationView {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: GENERATION_STATUSES })
  status: GenerationStatus;

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

  @ApiProperty({ type: UsageView })
  usage: UsageView;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  startedAt: string | null;

  @ApiProperty({ type: 'string', format: 'date-time', nullable: true })
  completedAt: string | null;
}

/** One page of the list, newest first. */
export class GenerationPage {
  @ApiProperty({ type: [GenerationView] })
  items: GenerationView[];

  @ApiProperty({ type: 'string', nullable: true })
  nextCursor: string | null;
}

export function toView(generation: Generation): GenerationView {
  return {
    id: generation.id,
    status: generation.status,
    prompt: generation.prompt,
    model: generation.model,
    result: generation.result,
    error: generation.error,
    attempts: generation.attempts,
    usage: { promptTokens: generation.promptTokens, completionTokens: generation.completionTokens },
    createdAt: generation.createdAt.toISOString(),
    startedAt: generation.startedAt?.toISOString() ?? null,
    completedAt: generation.completedAt?.toISOString() ?? null,
  };
}
