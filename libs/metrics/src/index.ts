export * from './http-metrics';
export * from './metrics-auth';
export * from './registry';
