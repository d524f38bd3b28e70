export { RouteTemplates } from './http-metrics';
export * from './metrics.module';
export * from './metrics.service';
export {
  bannedRequestsTotal,
  ipBansTotal,
  keyLimitRefusalsTotal,
  rateLimitHitsTotal,
  registry,
  securityEventsTotal,
} from './registry';
export type { KeyLimitPolicy } from './registry';
