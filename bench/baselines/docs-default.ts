import 'reflect-metadata';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Injectable,
  Module,
  NotFoundException,
  Param,
  ParseUUIDPipe,
  Req,
  UnauthorizedException,
  ValidationPipe,
} from '@nestjs/common';
import { APP_GUARD, NestFactory } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import type { Request } from 'express';
import helmet from 'helmet';
import Redis from 'ioredis';
import { LoggerModule, Logger } from 'nestjs-pino';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import pino from 'pino';
import { Column, Entity, IsNull, PrimaryColumn, Repository } from 'typeorm';

/**
 * The docs-default baseline of `npm run bench`: what a team would assemble from the same packages
 * by following each one's documentation, doing the same work as the api's authenticated read.
 * nestjs-pino `LoggerModule.forRoot()` with pino-http's autoLogging to `pino.destination(file)`,
 * `helmet()`, a global `ValidationPipe`, `@nestjs/throttler` as `APP_GUARD` with
 * `@nest-lab/throttler-storage-redis` (BENCH_THROTTLER_STORAGE=memory: the throttler's own
 * in-memory default), TypeORM `findOneBy`, an API-key guard with a 30 s in-memory cache.
 */

@Entity('api_keys')
class ApiKeyRecord {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'key_hash', type: 'char', length: 64 }) keyHash: string;
  @Column({ name: 'user_id', type: 'varchar' }) userId: string;
  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true }) revokedAt: Date | null;
}

@Entity('generations')
class GenerationRecord {
  @PrimaryColumn('uuid') id: string;
  @Column({ name: 'owner_id', type: 'varchar' }) ownerId: string;
  @Column({ type: 'varchar' }) status: string;
  @Column({ type: 'text' }) prompt: string;
  @Column({ type: 'varchar' }) model: string;
  @Column({ type: 'text', nullable: true }) result: string | null;
  @Column({ type: 'text', nullable: true }) error: string | null;
  @Column({ type: 'int' }) attempts: number;
  @Column({ name: 'prompt_tokens', type: 'int', nullable: true }) promptTokens: number | null;
  @Column({ name: 'completion_tokens', type: 'int', nullable: true })
  completionTokens: number | null;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true }) startedAt: Date | null;
  @Column({ name: 'completed_at', type: 'timestamptz', nullable: true }) completedAt: Date | null;
  @Column({ name: 'callback_url', type: 'varchar', nullable: true }) callbackUrl: string | null;
  @Column({ name: 'callback_state', type: 'varchar', nullable: true })
  callbackState: string | null;
  @Column({ name: 'callback_attempts', type: 'int' }) callbackAttempts: number;
  @Column({ name: 'callback_last_status', type: 'int', nullable: true })
  callbackLastStatus: number | null;
}

type Authenticated = Request & { userId: string };

@Injectable()
class ApiKeyGuard implements CanActivate {
  private readonly cache = new Map<string, { userId: string; until: number }>();

  constructor(@InjectRepository(ApiKeyRecord) private readonly keys: Repository<ApiKeyRecord>) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<Authenticated>();
    if (request.path === '/health') return true;
    const header = request.headers.authorization;
    if (!header?.startsWith('Bearer ')) throw new UnauthorizedException();
    const hash = createHash('sha256').update(header.slice(7)).digest('hex');
    let cached = this.cache.get(hash);
    if (!cached || cached.until < Date.now()) {
      const key = await this.keys.findOneBy({ keyHash: hash, revokedAt: IsNull() });
      if (!key) throw new UnauthorizedException();
      cached = { userId: key.userId, until: Date.now() + 30_000 };
      this.cache.set(hash, cached);
    }
    request.userId = cached.userId;
    return true;
  }
}

@Controller()
class GenerationsController {
  constructor(
    @InjectRepository(GenerationRecord) private readonly generations: Repository<GenerationRecord>,
  ) {}

  @Get('health')
  health(): object {
    return { status: 'ok' };
  }

  @Get('api/v1/generations/:id')
  async findOne(
    @Param('id', ParseUUIDPipe) id: string,
    @Req() request: Authenticated,
  ): Promise<object> {
    const generation = await this.generations.findOneBy({ id, ownerId: request.userId });
    if (!generation) throw new NotFoundException();
    return {
      id: generation.id,
      status: generation.status,
      prompt: generation.prompt,
      model: generation.model,
      result: generation.result,
      error: generation.error,
      attempts: generation.attempts,
      usage: {
        promptTokens: generation.promptTokens,
        completionTokens: generation.completionTokens,
      },
      createdAt: generation.createdAt.toISOString(),
      startedAt: generation.startedAt?.toISOString() ?? null,
      completedAt: generation.completedAt?.toISOString() ?? null,
      callback: generation.callbackUrl
        ? {
            url: generation.callbackUrl,
            state: generation.callbackState,
            attempts: generation.callbackAttempts,
            lastStatus: generation.callbackLastStatus,
          }
        : null,
    };
  }
}

const inMemory = process.env.BENCH_THROTTLER_STORAGE === 'memory';

@Module({
  imports: [
    LoggerModule.forRoot({
      pinoHttp: [{}, pino.destination(join(process.env.LOG_DIR ?? '.', 'docs-default.log'))],
    }),
    ThrottlerModule.forRoot({
      throttlers: [{ ttl: 60_000, limit: 100_000_000 }],
      ...(inMemory
        ? {}
        : { storage: new ThrottlerStorageRedisService(new Redis(process.env.REDIS_URL ?? '')) }),
    }),
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [ApiKeyRecord, GenerationRecord],
    }),
    TypeOrmModule.forFeature([ApiKeyRecord, GenerationRecord]),
  ],
  controllers: [GenerationsController],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ThrottlerGuard },
  ],
})
class DocsDefaultModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(DocsDefaultModule, { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.use(helmet());
  app.useGlobalPipes(new ValidationPipe());
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
}

void main();
