import './instrumentation';
import 'reflect-metadata';
import { assertDatabaseAvailable } from '@app/database';
import { enableGracefulShutdown, failStartup, startProcess } from '@app/lifecycle';
import { getLogger } from '@app/logging';
import { DASHBOARD_PATH, dashboardEnabled } from './dashboard/bull-board';
import { createApiApp } from './http-app';

async function bootstrap(): Promise<void> {
  const config = startProcess('api');
  try {
    await assertDatabaseAvailable(config.database.url);
    const app = await createApiApp(config);
    enableGracefulShutdown(app, config.shutdown);
    await app.listen(config.http.port);
    const url = (await app.getUrl())
      .replace('[::1]', 'localhost')
      .replace('127.0.0.1', 'localhost');
    const logger = getLogger('Bootstrap');
    logger.info({ url, environment: config.environment }, `api listening on ${url}`);
    const docs = config.http.docsEnabled ? ` | docs ${url}/api/docs` : '';
    const board = dashboardEnabled(config) ? ` | Bull Board ${url}${DASHBOARD_PATH}` : '';
    logger.info(
      `API ${url}/api/v1${docs}${board} | health ${url}/health | readiness ${url}/health/ready`,
    );
  } catch (error) {
    await failStartup(error);
  }
}

void bootstrap();
