import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, startApi, startWorker, workerHealthUrl } from '../support/processes';
import { tempDir } from '../support/test-env';
import { reliabilityEnv } from './support';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

/** Debian's prometheus package (installed by .ci/run): the tool operators will run on these files. */
function promtool(args: string[], input?: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 30000 });
  if (result.error) throw result.error;
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('promtool accepts what the platform exports and ships', () => {
  it('passes promtool check metrics on real scrapes of the api and the worker', async () => {
    const env = reliabilityEnv({ METRICS_TOKEN });
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      for (const url of [api.url, workerHealthUrl(worker)]) {
        const response = await fetch(`${url}/metrics`, {
          headers: { Authorization: `Bearer ${METRICS_TOKEN}` },
        });
        expect(response.status).toBe(200);
        const result = promtool(['check', 'metrics'], await response.text());
        expect(result.output).toBe('');
        expect(result.status).toBe(0);
      }
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });

  it('accepts the alert rules, and the sample scrape configuration that loads them', () => {
    const file = join(ROOT, 'config/prometheus/alerts.yml');
    const check = promtool(['check', 'rules', file]);
    expect(check.output).toContain('SUCCESS');
    expect(check.status).toBe(0);

    // the sample scrape configuration's token file is made up for the check
    const dir = tempDir('prometheus');
    const tokenFile = join(dir, 'metrics-token');
    writeFileSync(tokenFile, METRICS_TOKEN);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      readFileSync(join(ROOT, 'config/prometheus/prometheus.yml'), 'utf8').replaceAll(
        '/etc/prometheus/secrets/metrics-token',
        tokenFile,
      ),
    );
    copyFileSync(file, join(dir, 'alerts.yml'));
    const config = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
    // every alert of the file is loaded through the scrape configuration
    const alerts = readFileSync(file, 'utf8').match(/^\s*- alert: /gm) ?? [];
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    expect(config.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(config.status).toBe(0);
  });
});
