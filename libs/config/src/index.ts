export * from './app-config';
export * from './config.module';
export * from './config-validation.error';
export * from './environment-variables';
export * from './load-config';
export * from './load-config-or-exit';
export { isAddressOrCidr, splitList } from './validators';
export * from './app-version';
