/** The queue generations travel through, from the api to the worker. */
export const GENERATIONS_QUEUE = 'generations';

/** Every queue of the platform (Bull Board and the health checks list these). */
export const QUEUE_NAMES = [GENERATIONS_QUEUE] as const;
