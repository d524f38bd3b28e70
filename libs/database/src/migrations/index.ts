import type { MigrationInterface } from 'typeorm';

/** Every migration, in order; imported explicitly so `dist` never depends on globs. */
export const MIGRATIONS: Array<new () => MigrationInterface> = [];
