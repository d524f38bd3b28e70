export * from './database-availability';
export * from './database-options';
export * from './database-setup';
export * from './database-target';
export * from './database.module';
export * from './entities';
