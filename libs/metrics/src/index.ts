export { RouteTemplates } from './http-metrics';
export * from './metrics.module';
export * from './metrics.service';
export {
  bannedRequestsTotal,
  ipBansTotal,
  rateLimitHitsTotal,
  registry,
  securityEventsTotal,
} from './registry';
