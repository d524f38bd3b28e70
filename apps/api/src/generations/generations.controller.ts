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
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Response } from 'express';
import { ApiProblems } from '../docs/api-errors.decorator';
import { IdempotencyKey } from './idempotency-key.decorator';

const uuid = new ParseUUIDPipe({ version: '4' });

/** Generations of the calling key's user; another user's generation is a 404. */
@ApiTags('generations')
@ApiProblems()
@Controller('api/v1/generations')
export class GenerationsController {
  constructor(private readonly generations: GenerationsService) {}

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
