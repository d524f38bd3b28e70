import 'reflect-metadata';
import { loadConfigOrExit } from '@app/config';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions } from './database-options';

/** Entry for TypeORM's own CLI (`npm run migration:generate`, `migration:revert`). */
export default new DataSource(buildDataSourceOptions(loadConfigOrExit()));
