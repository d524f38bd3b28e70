import {
  CreateGenerationDto,
  GenerationView,
  GenerationsService,
  ListGenerationsQuery,
  toView,
} from '@app/generations';
import { ApiKeyIdentity, CurrentAuth } from '@app/security';
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
import type { Response } from 'express';

const uuid = new ParseUUIDPipe({ version: '4' });

/** Generations of the calling key's user; another user's generation is a 404. */
@Controller('api/v1/generations')
export class GenerationsController {
  constructor(private readonly generations: GenerationsService) {}

  /** Queues a generation: 202 with Location; an Idempotency-Key replay answers 200. */
  @Post()
  async create(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Body() body: CreateGenerationDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<GenerationView> {
    const { generation, replayed } = await this.generations.create(
      auth.userId,
      body,
      idempotencyKey,
    );
    res.status(replayed ? 200 : 202);
    res.setHeader('Location', `/api/v1/generations/${generation.id}`);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return toView(generation);
  }

  @Get()
  async list(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Query() query: ListGenerationsQuery,
  ): Promise<{ items: GenerationView[]; nextCursor: string | null }> {
    const page = await this.generations.list(auth.userId, query);
    return { items: page.items.map(toView), nextCursor: page.nextCursor };
  }

  @Get(':id')
  async get(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Param('id', uuid) id: string,
  ): Promise<GenerationView> {
    return toView(await this.generations.get(auth.userId, id));
  }

  /** Cancels a queued generation (200); 409 once it is running or finished. */
  @Delete(':id')
  @HttpCode(200)
  async cancel(
    @CurrentAuth() auth: ApiKeyIdentity,
    @Param('id', uuid) id: string,
  ): Promise<GenerationView> {
    return toView(await this.generations.cancel(auth.userId, id));
  }
}
