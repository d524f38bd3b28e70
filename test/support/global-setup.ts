import { TEST_DATABASE_URL, TEST_REDIS_URL } from './test-env';
import { resetTestStores } from './test-stores';

/** A fresh test database and an empty test Redis index, for every run. */
export default async function globalSetup(): Promise<void> {
  await resetTestStores(TEST_DATABASE_URL, TEST_REDIS_URL);
}
