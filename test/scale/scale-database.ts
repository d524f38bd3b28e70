/** The scale suite's own database; each test starts its own Redis servers. */
export const SCALE_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_scale';
