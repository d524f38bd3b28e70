export { AppConfig } from './app-config';
export type { HostPort, KeyLimits, RedisMode, RedisSettings, ServiceName } from './app-config';
export { appVersion } from './app-version';
export { ConfigModule } from './config.module';
export type { GenAiProviderName, LogLevel } from './environment-variables';
export { loadConfigOrExit } from './load-config-or-exit';
