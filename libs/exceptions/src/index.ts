export * from './app.exception';
export * from './classify-error';
export * from './error-codes';
export * from './error-message';
export * from './exceptions.module';
export * from './problem-details.filter';
export * from './process-error-handlers';
export * from './validation';
