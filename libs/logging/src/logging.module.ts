import { DynamicModule, Global, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { appRootLogger } from './root-loggers';

/**
 * Nest's side of logging: nestjs-pino as the application logger (framework lines included) and
 * the injectable `PinoLogger`, both writing to the loggers the entry point installed. The
 * request id, user and job context come from AsyncLocalStorage, not from pino-http.
 */
@Global()
@Module({})
export class LoggingModule {
  static forRoot(): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          useFactory: () => ({
            pinoHttp: { logger: appRootLogger() },
            useExisting: true,
            renameContext: 'context',
            // No per-request middleware: with useExisting it would only open a second
            // AsyncLocalStorage scope per request holding nothing (PinoLogger falls back to root)
            forRoutes: [],
          }),
        }),
      ],
      exports: [LoggerModule],
    };
  }
}
