export { AppException } from './app.exception';
export { classifyError, isDependencyUnavailable } from './classify-error';
export type { ClassifiedError } from './classify-error';
export { ERROR_CODES } from './error-codes';
export { defaultDetailFor, errorMessage } from './error-message';
export { ExceptionsModule } from './exceptions.module';
export { PROBLEM_CONTENT_TYPE, problemDetails } from './problem-details';
export { installProcessErrorHandlers } from './process-error-handlers';
