import { Public } from '@app/security';
import { AppException, errorMessage } from '@app/exceptions';
import {
  CallHandler,
  CanActivate,
  Controller,
  Get,
  Injectable,
  MiddlewareConsumer,
  Module,
  NestInterceptor,
  NestModule,
  Param,
  ParseIntPipe,
  Post,
  Body,
  Res,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsEmail,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import type { NextFunction, Request, Response } from 'express';
import { Observable } from 'rxjs';
import { DataSource } from 'typeorm';

class ContactDto {
  @IsEmail()
  email: string;
}

class ProbeDto {
  @IsString()
  @Length(1, 50)
  name: string;

  @IsInt()
  @Min(0)
  @Max(150)
  age: number;

  @ValidateNested()
  @Type(() => ContactDto)
  contact: ContactDto;

  @IsOptional()
  @IsArray()
  @IsString({ each: true })
  tags?: string[];
}

@Injectable()
class FailingGuard implements CanActivate {
  canActivate(): boolean {
    throw new Error('guard exploded at /srv/app/guard.ts:12');
  }
}

@Injectable()
class FailingInterceptor implements NestInterceptor {
  intercept(_context: unknown, _next: CallHandler): Observable<unknown> {
    throw new AppException(409, errorMessage('intercepting request', 'probe conflict'));
  }
}

const SECRET_MESSAGE =
  'QueryFailedError: SELECT * FROM users WHERE password = $1 at /srv/app/node_modules/pg/lib/client.js:10:5';

/** Test-only routes that fail in every way the api can. Never shipped. */
@Public()
@Controller('test/errors')
class ProbeErrorsController {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  @Post('validate')
  validate(@Body() body: ProbeDto): { ok: true; name: string } {
    return { ok: true, name: body.name };
  }

  @Get('app-exception')
  appException(): never {
    throw new AppException(409, errorMessage('creating widget', 'it already exists'), {
      cause: new Error('unique constraint widgets_name_key'),
    });
  }

  @Get('throw')
  throwPlain(): never {
    throw new Error(SECRET_MESSAGE);
  }

  @Get('throw-async')
  async throwAsync(): Promise<never> {
    await new Promise((resolve) => setImmediate(resolve));
    throw new TypeError(SECRET_MESSAGE);
  }

  @Get('sql-error')
  async sqlError(): Promise<unknown> {
    return this.dataSource.query(
      'SELECT secret_column FROM no_such_table_for_probe WHERE id = $1',
      ['param-value'],
    );
  }

  @Get('unique-violation')
  async uniqueViolation(): Promise<unknown> {
    return this.dataSource.transaction(async (manager) => {
      await manager.query('CREATE TEMP TABLE probe_unique (id int PRIMARY KEY) ON COMMIT DROP');
      await manager.query('INSERT INTO probe_unique VALUES (1)');
      await manager.query('INSERT INTO probe_unique VALUES (1)');
    });
  }

  @Get('db-ping')
  async dbPing(): Promise<{ ok: true }> {
    await this.dataSource.query('SELECT 1');
    return { ok: true };
  }

  @Get('guard')
  @UseGuards(FailingGuard)
  guard(): { ok: true } {
    return { ok: true };
  }

  @Get('interceptor')
  @UseInterceptors(FailingInterceptor)
  interceptor(): { ok: true } {
    return { ok: true };
  }

  @Get('pipe/:id')
  pipe(@Param('id', ParseIntPipe) id: number): { id: number } {
    return { id };
  }

  @Get('headers-sent')
  headersSent(@Res() res: Response): void {
    res.status(200).setHeader('Content-Type', 'text/plain');
    res.write('partial ');
    throw new Error('failed after the headers left');
  }

  @Get('crash')
  crash(): { ok: true } {
    setImmediate(() => {
      throw new Error('uncaught probe crash');
    });
    return { ok: true };
  }

  @Get('unhandled-rejection')
  unhandledRejection(): { ok: true } {
    void Promise.reject(new Error('unhandled probe rejection'));
    return { ok: true };
  }
}

@Module({ controllers: [ProbeErrorsController] })
export class ProbeErrorsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply((_req: Request, _res: Response, next: NextFunction) =>
        next(new Error('middleware exploded at /srv/app/middleware.ts:3')),
      )
      .forRoutes('test/errors/middleware');
  }
}
