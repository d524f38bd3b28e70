import { AppException, errorMessage } from '@app/exceptions';
import { getLogContext } from '@app/logging';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { Repository } from 'typeorm';
import { CreateGenerationDto, ListGenerationsQuery } from './dto/create-generation.dto';
import { Generation } from './generation.entity';
import { GenerationQueue } from './generation-queue';
import { GenAiProvider } from './providers/genai-provider';

/** An Idempotency-Key is remembered this long per user. */
const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
const IDEMPOTENCY_KEY_PATTERN = /^[\x20-\x7E]{1,255}$/;
const DEFAULT_LIMIT = 20;

export interface CreateOutcome {
  generation: Generation;
  /** True when an earlier request with the same Idempotency-Key is answered again. */
  replayed: boolean;
}

/** A row of `generations` as PostgreSQL returns it. */
interface GenerationRow {
  id: string;
  owner_id: string;
  status: Generation['status'];
  prompt: string;
  model: string;
  max_tokens: number | null;
  temperature: number | null;
  result: string | null;
  error: string | null;
  attempts: number;
  prompt_tokens: number | null;
  completion_tokens: number | null;
  request_id: string | null;
  idempotency_key: string | null;
  request_hash: string | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
}

function notFound(): AppException {
  return new AppException(404, errorMessage('finding generation', 'no such generation'));
}

function requestHash(dto: CreateGenerationDto): string {
  const canonical = JSON.stringify([
    dto.prompt,
    dto.model ?? null,
    dto.maxTokens ?? null,
    dto.temperature ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

function encodeCursor(generation: Generation): string {
  return Buffer.from(`${generation.createdAt.toISOString()}|${generation.id}`).toString(
    'base64url',
  );
}

function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (
    rest.length > 0 ||
    Number.isNaN(createdAt.getTime()) ||
    !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id ?? '')
  ) {
    throw new AppException(400, errorMessage('listing generations', 'the cursor is not valid'), {
      code: 'VALIDATION_FAILED',
      errors: [
        { field: 'cursor', messages: ['cursor must be a nextCursor value from a previous page'] },
      ],
    });
  }
  return { createdAt, id };
}

/**
 * Generations as the api sees them: created queued and put on the queue (or not at all: a
 * record nothing will run is never left behind), read and listed by their owner only, cancelled
 * while still queued.
 */
@Injectable()
export class GenerationsService {
  constructor(
    @InjectRepository(Generation) private readonly generations: Repository<Generation>,
    private readonly queue: GenerationQueue,
    private readonly provider: GenAiProvider,
  ) {}

  async create(
    ownerId: string,
    dto: CreateGenerationDto,
    idempotencyKey?: string,
  ): Promise<CreateOutcome> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new AppException(
        400,
        errorMessage('reading Idempotency-Key', 'it must be 1 to 255 printable ASCII characters'),
      );
    }
    const hash = requestHash(dto);
    if (idempotencyKey !== undefined) {
      const earlier = await this.findByIdempotencyKey(ownerId, idempotencyKey);
      if (earlier) return this.replay(earlier, hash);
    }

    // Raw SQL on the hot path, RETURNING the whole row: one round trip, no query builder
    const inserted = (await this.generations.query(
      `INSERT INTO generations
         (owner_id, status, prompt, model, max_tokens, temperature, request_id, idempotency_key, request_hash)
       VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [
        ownerId,
        dto.prompt,
        dto.model ?? this.provider.defaultModel,
        dto.maxTokens ?? null,
        dto.temperature ?? null,
        getLogContext()?.requestId ?? null,
        idempotencyKey ?? null,
        hash,
      ],
    )) as GenerationRow[];
    const row = inserted[0];
    if (!row) {
      // Another request with the same key won the race: answer with its generation.
      const winner = await this.findByIdempotencyKey(ownerId, idempotencyKey as string);
      if (!winner)
        throw new AppException(409, errorMessage('creating generation', 'retry the request'));
      return this.replay(winner, hash);
    }
    const generation = this.fromRow(row);
    try {
      await this.queue.enqueue(generation.id);
    } catch (error) {
      await this.generations.delete({ id: generation.id, status: 'queued' });
      throw error;
    }
    return { generation, replayed: false };
  }

  /** A `generations` row as the entity (what TypeORM would hydrate, without a second query). */
  private fromRow(row: GenerationRow): Generation {
    return this.generations.create({
      id: row.id,
      ownerId: row.owner_id,
      status: row.status,
      prompt: row.prompt,
      model: row.model,
      maxTokens: row.max_tokens,
      temperature: row.temperature,
      result: row.result,
      error: row.error,
      attempts: row.attempts,
      promptTokens: row.prompt_tokens,
      completionTokens: row.completion_tokens,
      requestId: row.request_id,
      idempotencyKey: row.idempotency_key,
      requestHash: row.request_hash,
      createdAt: row.created_at,
      startedAt: row.started_at,
      completedAt: row.completed_at,
    });
  }

  async get(ownerId: string, id: string): Promise<Generation> {
    const generation = await this.generations.findOneBy({ id, ownerId });
    if (!generation) throw notFound();
    return generation;
  }

  async list(
    ownerId: string,
    query: ListGenerationsQuery,
  ): Promise<{ items: Generation[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const builder = this.generations
      .createQueryBuilder('g')
      .where('g.owner_id = :ownerId', { ownerId })
      .orderBy('g.created_at', 'DESC')
      .addOrderBy('g.id', 'DESC')
      .limit(limit + 1);
    if (query.status) builder.andWhere('g.status = :status', { status: query.status });
    if (query.cursor) {
      const after = decodeCursor(query.cursor);
      builder.andWhere('(g.created_at, g.id) < (:createdAt, :id)', after);
    }
    const rows = await builder.getMany();
    const items = rows.slice(0, limit);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null,
    };
  }

  /** Cancels a queued generation; cancelling a cancelled one answers it again. */
  async cancel(ownerId: string, id: string): Promise<Generation> {
    const result = await this.generations
      .createQueryBuilder()
      .update()
      .set({ status: 'cancelled', completedAt: () => 'now()' })
      .where('id = :id AND owner_id = :ownerId AND status = :queued', {
        id,
        ownerId,
        queued: 'queued',
      })
      .execute();
    const generation = await this.get(ownerId, id);
    if (result.affected) {
      await this.queue.remove(id);
      return generation;
    }
    if (generation.status === 'cancelled') return generation;
    throw new AppException(
      409,
      errorMessage(
        'cancelling generation',
        `it is ${generation.status}; only queued generations can be cancelled`,
      ),
    );
  }

  private async findByIdempotencyKey(ownerId: string, key: string): Promise<Generation | null> {
    const earlier = await this.generations.findOneBy({ ownerId, idempotencyKey: key });
    if (!earlier) return null;
    if (Date.now() - earlier.createdAt.getTime() <= IDEMPOTENCY_WINDOW_MS) return earlier;
    // Past the window the key is forgotten, so it can name a new request.
    await this.generations.update({ id: earlier.id }, { idempotencyKey: null });
    return null;
  }

  private replay(earlier: Generation, hash: string): CreateOutcome {
    if (earlier.requestHash !== hash) {
      throw new AppException(
        422,
        errorMessage(
          'creating generation',
          'this Idempotency-Key was used with a different request body',
        ),
        { code: 'IDEMPOTENCY_KEY_REUSED' },
      );
    }
    return { generation: earlier, replayed: true };
  }
}
