import type { MigrationInterface } from 'typeorm';
import { CreateApiKeys1764115200000 } from './1764115200000-create-api-keys';

/** Every migration, in order; imported explicitly so `dist` never depends on globs. */
export const MIGRATIONS: Array<new () => MigrationInterface> = [CreateApiKeys1764115200000];
