import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

/**
 * The framework's ceiling for `npm run bench`: the same NestJS and Express versions as the api,
 * one route answering what the api's liveness answers, no middleware, no logger.
 * BENCH_HTTP_ADAPTER=fastify: the same app on NestJS's Fastify adapter, printed beside it for
 * reading (no target) — how much of the ceiling is the HTTP adapter's.
 */
@Controller()
class HealthController {
  @Get('health')
  health(): object {
    return { status: 'ok', info: {}, error: {}, details: {} };
  }
}

@Module({ controllers: [HealthController] })
class BareModule {}

async function main(): Promise<void> {
  const options = { logger: false as const };
  const app =
    process.env.BENCH_HTTP_ADAPTER === 'fastify'
      ? await NestFactory.create(BareModule, new FastifyAdapter(), options)
      : await NestFactory.create(BareModule, options);
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
}

void main();
