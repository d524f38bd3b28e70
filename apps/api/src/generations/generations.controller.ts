import {
  CreateGenerationDto,
  GenerationPage,
  GenerationView,
  GenerationsService,
  ListGenerationsQuery,
  toView,
} from '@app/generations';
import { ApiKeyIdentity, CurrentAuth, GENERATIONS_POLICY } from '@app/security';
import {
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Response } from 'express';
import { ApiProblems } from '../docs/api-errors.decorator';
import { IdempotencyKey } from './idempotency-key.decorator';
import { GenerationStreams } from './events/generation-streams';

const uuid = new ParseUUIDPipe({ version: '4' });

/** Generations of the calling key's user; another user's generation is a 404. */
@ApiTags('generations')
@ApiProblems()
@Controller('api/v1/generations')
export class GenerationsController {
  constructor(
    private readonly generations: GenerationsService,
    private readonly streams: GenerationStreams,
  ) {}

  /** Queues a generation: 202 with Location; an Idempotency-Key replay answers 200. */
  @Post()
  @Throttle({ generations: GENERATIONS_POLICY })
  @ApiOperation({ summary: 'Queue a generation' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1-255 printable ASCII characters; remembered 24 h',
  })
  @ApiResponse({ status: 202, type: GenerationView, description: 'Queued; Location names it' })
  @ApiResponse({
    status: 200,
    type: GenerationView,
    description: 'Idempotent replay (Idempotent-Replayed: true)',
  })
  @ApiProblems(
    [413, 'PAYLOAD_TOO_LARGE'],
    [415, 'UNSUPPORTED_MEDIA_TYPE'],
    [422, 'IDEMPOTENCY_KEY_REUSED'],
    [
      429,
      'RATE_LIMITED (a per-IP or per-key limit) or QUOTA_EXCEEDED (GENERATIONS_MAX_ACTIVE, DAILY_TOKEN_BUDGET)',
    ],
  )
  async create(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Body() body: CreateGenerationDto,
    @IdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<GenerationView> {
    const { generation, replayed } = await this.generations.create(
      {
        userId: auth.userId,
        keyId: auth.keyId,
        quota: { maxActive: auth.limits.maxActive, dailyTokens: auth.limits.dailyTokens },
      },
      body,
      idempotencyKey,
    );
    res.status(replayed ? 200 : 202);
    res.setHeader('Location', `/api/v1/generations/${generation.id}`);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return toView(generation);
  }

  @Get()
  @ApiOperation({ summary: "List the caller's generations, newest first" })
  @ApiOkResponse({ type: GenerationPage })
  async list(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Query() query: ListGenerationsQuery,
  ): Promise<GenerationPage> {
    const page = await this.generations.list(auth.userId, query);
    return { items: page.items.map(toView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: "Get one of the caller's generations" })
  @ApiOkResponse({ type: GenerationView })
  @ApiProblems([404, 'NOT_FOUND'])
  async get(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Param('id', uuid) id: string,
  ): Promise<GenerationView> {
    return toView(await this.generations.get(auth.userId, id));
  }

  /** The generation's events as Server-Sent Events, until it ends (SPEC §14). */
  @Get(':id/events')
  @ApiOperation({
    summary: "Stream a generation's events (Server-Sent Events)",
    description: [
      '`text/event-stream`, every event with its stored `id`:',
      '`status` `{id, status, attempts, startedAt, completedAt}` at every change (no prompt, no result);',
      '`delta` `{attempt, index, text}` as the provider produces text (`index` counts the chunks of that attempt from 0; a `status` with a higher `attempts` voids earlier deltas);',
      '`done` — the final generation, as GET answers it; the stream then ends.',
      'Without `Last-Event-ID` the stream starts with the current state (a finished generation answers one `done` at once); with it, the stored events after that id, then the rest as they come (`Last-Event-ID: 0`: every stored event).',
      'A comment line every 15 s; a stream ended by a shutdown sends `retry:` and no `done` — reconnect with `Last-Event-ID`.',
      'Events are kept 10 minutes after the generation ends. At most GENERATIONS_MAX_STREAMS open per key, across replicas (429 QUOTA_EXCEEDED).',
      'A browser `EventSource` cannot send the key: read it with `fetch()`.',
    ].join(' '),
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description: 'the id of the last event received: the stream resumes after it',
  })
  @ApiResponse({
    status: 200,
    description: 'An event stream',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiProblems(
    [404, 'NOT_FOUND'],
    [429, 'QUOTA_EXCEEDED (GENERATIONS_MAX_STREAMS) or RATE_LIMITED'],
  )
  async events(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Param('id', uuid) id: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    await this.streams.serve(auth, id, lastEventId, res);
  }

  /** Cancels a queued or running generation (200); 409 once it has succeeded or failed. */
  @Delete(':id')
  @ApiOperation({
    summary: 'Cancel a queued or running generation',
    description:
      'Answers the cancelled generation at once. A running one: its worker aborts the provider call within a second or two, records nothing more and does not retry it. 409 once it has succeeded or failed; cancelling a cancelled one answers it again.',
  })
  @HttpCode(200)
  @ApiOkResponse({ type: GenerationView })
  @ApiProblems([404, 'NOT_FOUND'], [409, 'CONFLICT'])
  async cancel(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Param('id', uuid) id: string,
  ): Promise<GenerationView> {
    return toView(await this.generations.cancel(auth.userId, id));
  }
}
