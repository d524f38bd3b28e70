/** The reliability suite's own database and Redis index (the e2e suite's are never touched). */
export const RELIABILITY_DATABASE_URL =
  'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_reliability';
export const RELIABILITY_REDIS_URL = 'redis://127.0.0.1:6379/2';
