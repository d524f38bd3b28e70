/** Injection token of the platform's fast-failing Redis client (role `command`). */
export const REDIS_CLIENT = Symbol('REDIS_CLIENT');
