import 'reflect-metadata';
import { loadConfigOrExit } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { DataSource } from 'typeorm';
import { PLATFORM_SCHEMA } from './schema';

/** Entry for TypeORM's own CLI (`npm run migration:generate`, `migration:revert`). */
export default new DataSource(buildDataSourceOptions(loadConfigOrExit('cli'), PLATFORM_SCHEMA));
