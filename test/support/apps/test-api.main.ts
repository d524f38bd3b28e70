import '../../../apps/api/src/instrumentation';
import 'reflect-metadata';
import { assertDatabaseAvailable } from '@app/database';
import { enableGracefulShutdown, failStartup, startProcess } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { createApiApp } from '../../../apps/api/src/http-app';
import { ProbeRoutesModule } from './probe-routes.module';

/** The real api plus test-only probe routes (never shipped), started like main.ts. */
async function bootstrap(): Promise<void> {
  const config = startProcess('api');
  try {
    await assertDatabaseAvailable(config.database.url);
    const app = await createApiApp(config, [ProbeRoutesModule]);
    enableGracefulShutdown(app, config.shutdown);
    await app.listen(config.http.port);
    const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    getLogger('Bootstrap').info({ url }, `api listening on ${url}`);
  } catch (error) {
    await failStartup(error);
  }
}

void bootstrap();
