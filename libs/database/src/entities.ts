import { Generation } from '@app/generations/generation.entity';
import { ApiKey } from '@app/security/api-keys/api-key.entity';

/** Every TypeORM entity of the platform; domain libs add theirs here. */
export const ENTITIES: Array<new (...args: never[]) => unknown> = [ApiKey, Generation];
