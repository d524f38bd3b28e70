import { Public, securityEvent } from '@app/security';
import { PinoLogger, getLogger, setLogContext, withLogContext } from '@app/logging';
import { InjectQueue } from '@nestjs/bull';
import { Body, Controller, Get, Injectable, Module, Post, Query } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Queue } from 'bull';
import { DataSource } from 'typeorm';
import { ProbeErrorsModule } from './probe-errors.module';
import { PROBE_QUEUE, ProbeJobsModule } from './probe-jobs.module';

const logger = getLogger('ProbeController');

async function nestedWork(marker: string): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  getLogger('ProbeNested').info({ marker }, 'nested async work');
}

@Injectable()
class ProbeService {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext(ProbeService.name);
  }

  work(marker: string): void {
    this.logger.info({ marker }, 'injected logger line');
  }
}

/** Test-only routes that make the api log, fail and queue on demand. Never shipped. */
@Public()
@Controller('test')
class ProbeController {
  constructor(
    @InjectQueue(PROBE_QUEUE) private readonly queue: Queue,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly service: ProbeService,
  ) {}

  @Get('as-user')
  asUser(@Query('user') user = 'user-1', @Query('marker') marker = 'none'): { ok: true } {
    setLogContext({ userId: user });
    this.service.work(marker);
    return { ok: true };
  }

  @Get('log')
  async log(@Query('marker') marker = 'none'): Promise<{ ok: true }> {
    logger.info({ marker }, 'probe log line');
    await nestedWork(marker);
    return { ok: true };
  }

  @Post('log')
  logBody(@Body() body: Record<string, unknown>): { ok: true } {
    logger.info({ body }, 'probe body');
    return { ok: true };
  }

  @Get('slow')
  async slow(@Query('ms') ms = '1000'): Promise<{ ok: true; ms: number }> {
    await new Promise((resolve) => setTimeout(resolve, Number(ms)));
    return { ok: true, ms: Number(ms) };
  }

  @Get('log-error')
  logError(@Query('marker') marker = 'none'): { ok: true } {
    logger.error({ err: new Error(`probe failure ${marker}`), marker }, 'probe error line');
    return { ok: true };
  }

  @Get('security-event')
  security(@Query('marker') marker = 'none'): { ok: true } {
    securityEvent('auth_failed', { ip: '203.0.113.7', reason: 'probe', marker }, 'probe event');
    return { ok: true };
  }

  @Get('burst')
  burst(@Query('count') count = '100', @Query('marker') marker = 'none'): { ok: true } {
    for (let index = 0; index < Number(count); index += 1) {
      logger.info({ marker, index, padding: 'x'.repeat(200) }, 'burst line');
    }
    return { ok: true };
  }

  @Get('slow-query')
  async slowQuery(): Promise<{ ok: true }> {
    await this.dataSource.query('SELECT pg_sleep(0.3), $1::text AS secret', ['param-s3cr3t']);
    return { ok: true };
  }

  @Post('jobs')
  async queueJob(
    @Query('marker') marker = 'none',
    @Query('sleepMs') sleepMs = '10',
  ): Promise<{ jobId: string }> {
    const job = await this.queue.add(withLogContext({ marker, sleepMs: Number(sleepMs) }), {
      attempts: 1,
    });
    return { jobId: String(job.id) };
  }
}

@Module({
  imports: [ProbeJobsModule.forApi(), ProbeErrorsModule],
  controllers: [ProbeController],
  providers: [ProbeService],
})
export class ProbeRoutesModule {}
