import { resetTestStores } from '../support/test-stores';
import { SCALE_DATABASE_URL } from './scale-database';

/** A fresh scale database for every run (the tests start their own Redis servers). */
export default async function globalSetup(): Promise<void> {
  await resetTestStores(SCALE_DATABASE_URL);
}
