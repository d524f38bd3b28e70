export { jobTraceparent, runInJobContext, withLogContext } from './context/job-context';
export { getLogContext, setLogContext } from './context/log-context';
export { LogDirectoryError } from './destinations/log-files';
export { getLogger } from './get-logger';
export { requestContextMiddleware } from './http/request-context.middleware';
export { createLoggers, onLogLine } from './logger-factory';
export { LoggingModule } from './logging.module';
export { accessRootLogger, closeLoggers, installLoggers, securityRootLogger } from './root-loggers';
export { Logger as NestPinoLogger, PinoLogger } from 'nestjs-pino';
