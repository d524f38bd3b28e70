import { DatabaseSchema } from '@app/database';
import { Generation, KeyUsage } from '@app/generations';
import { ApiKey } from '@app/security';
import { MIGRATIONS } from './migrations';

/**
 * Every table of the platform and the migrations that create them, for the processes that
 * migrate: `db:setup` and TypeORM's CLI. The apps' modules register their entities themselves.
 */
export const PLATFORM_SCHEMA: DatabaseSchema = {
  entities: [ApiKey, Generation, KeyUsage],
  migrations: MIGRATIONS,
};
