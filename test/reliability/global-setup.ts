import { resetTestStores } from '../support/test-stores';
import { RELIABILITY_DATABASE_URL, RELIABILITY_REDIS_URL } from './reliability-env';

/** A fresh reliability database and Redis index, for every run. */
export default async function globalSetup(): Promise<void> {
  await resetTestStores(RELIABILITY_DATABASE_URL, RELIABILITY_REDIS_URL);
}
