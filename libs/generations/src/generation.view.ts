import { ApiProperty } from '@nestjs/swagger';
import {
  CALLBACK_STATES,
  CallbackState,
  GENERATION_STATUSES,
  Generation,
  GenerationStatus,
} from './generation.entity';

class UsageView {
  @ApiProperty({ type: 'integer', nullable: true })
  promptTokens: number | null;

  @ApiProperty({ type: 'integer', nullable: true })
  completionTokens: number | null;
}

/** The completion webhook of a generation that asked for one (SPEC §14). */
class CallbackView {
  @ApiProperty({ format: 'uri', maxLength: 2048 })
  url: string;

  @ApiProperty({
    enum: CALLBACK_STATES,
    description:
      'pending until the receiver answered 2xx (delivered) or will not be tried again (failed)',
  })
  state: CallbackState;

  @ApiProperty({ type: 'integer', description: 'delivery attempts made so far' })
  attempts: number;

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: "the last attempt's HTTP status; null before one, or when none was answered",
  })
  lastStatus: number | null;
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

  @ApiProperty({
    type: CallbackView,
    nullable: true,
    description: 'the completion webhook, when the POST gave a callbackUrl',
  })
  callback: CallbackView | null;
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
    callback:
      generation.callbackUrl === null
        ? null
        : {
            url: generation.callbackUrl,
            state: generation.callbackState ?? 'pending',
            attempts: generation.callbackAttempts,
            lastStatus: generation.callbackLastStatus,
          },
  };
}
