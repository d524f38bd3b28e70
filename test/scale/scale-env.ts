import { reliabilityEnv } from '../reliability/support';
import { SCALE_DATABASE_URL } from './scale-database';

export { SCALE_DATABASE_URL };

/** Production settings, limits high enough for load, on the scale database. */
export function scaleEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  return reliabilityEnv({ DATABASE_URL: SCALE_DATABASE_URL, ...overrides });
}
