import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';

/**
 * The framework's ceiling for `npm run bench`: the same NestJS and Express versions as the api,
 * one route answering what the api's liveness answers, no middleware, no logger.
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
  const app = await NestFactory.create<NestExpressApplication>(BareModule, { logger: false });
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ msg: `bare app listening on ${url}`, url })}\n`);
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

void main();
