import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT, startApi, startWorker } from '../../../test/support/processes';
import { testEnv } from '../../../test/support/test-env';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const dir = join(ROOT, 'config/kubernetes');
const docs: Doc[] = readdirSync(dir)
  .filter((file) => file.endsWith('.yaml'))
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((doc) => {
      expect(doc.errors).toEqual([]);
      return doc.toJS() as Doc;
    }),
  );
const byKind = (kind: string): Doc[] => docs.filter((doc) => doc.kind === kind);
const deployment = (name: string): Doc => {
  const found = byKind('Deployment').find((doc) => doc.metadata.name === name);
  if (!found) throw new Error(`no Deployment ${name}`);
  return found;
};
const config = byKind('ConfigMap')[0].data as Record<string, string>;

describe('Kubernetes manifests (config/kubernetes)', () => {
  it('has every deployment piece the operations guide lists', () => {
    const kinds = docs.map((doc) => doc.kind).sort();
    for (const kind of [
      'ConfigMap',
      'Deployment',
      'HorizontalPodAutoscaler',
      'Ingress',
      'Job',
      'NetworkPolicy',
      'PodDisruptionBudget',
      'Secret',
      'Service',
    ]) {
      expect(kinds).toContain(kind);
    }
    expect(byKind('Ingress')[0].spec.tls.length).toBeGreaterThan(0);
    expect(byKind('HorizontalPodAutoscaler')[0].spec.scaleTargetRef.name).toBe('rocket-launch-api');
    expect(
      byKind('PodDisruptionBudget')[0].spec.selector.matchLabels['app.kubernetes.io/name'],
    ).toBe('rocket-launch-api');
  });

  it.each(['rocket-launch-api', 'rocket-launch-worker'])(
    '%s runs non-root on a read-only root filesystem with a writable log volume',
    (name) => {
      const pod = deployment(name).spec.template.spec;
      const container = pod.containers[0];
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
      expect(container.volumeMounts).toContainEqual({ name: 'logs', mountPath: config.LOG_DIR });
      expect(container.resources.requests).toBeDefined();
      expect(container.resources.limits).toBeDefined();
    },
  );

  it.each(['rocket-launch-api', 'rocket-launch-worker'])(
    '%s gives shutdown enough time: grace period > preStop + drain delay + timeout',
    (name) => {
      const pod = deployment(name).spec.template.spec;
      const preStop = Number(pod.containers[0].lifecycle.preStop.exec.command[1]);
      const needed =
        preStop +
        Number(config.SHUTDOWN_DRAIN_DELAY_MS) / 1000 +
        Number(config.SHUTDOWN_TIMEOUT_MS) / 1000;
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(needed);
    },
  );

  it('probes the paths and ports the apps really serve', async () => {
    const probesOf = (name: string, portName: string, port: string) => {
      const container = deployment(name).spec.template.spec.containers[0];
      expect(container.ports).toContainEqual({ name: portName, containerPort: Number(port) });
      return ['startupProbe', 'livenessProbe', 'readinessProbe'].map((probe) => {
        expect(container[probe].httpGet.port).toBe(portName);
        return container[probe].httpGet.path as string;
      });
    };
    const apiPaths = probesOf('rocket-launch-api', 'http', config.PORT);
    const workerPaths = probesOf('rocket-launch-worker', 'health', config.WORKER_HEALTH_PORT);
    expect(
      deployment('rocket-launch-api').spec.template.spec.containers[0].readinessProbe.httpGet.path,
    ).toBe('/health/ready');

    const env = testEnv();
    const [api, worker] = await Promise.all([startApi(env), startWorker(env)]);
    try {
      const workerLine = await worker.waitForLine((l) =>
        String(l.msg).startsWith('worker health server'),
      );
      for (const path of apiPaths) expect((await fetch(`${api.url}${path}`)).status).toBe(200);
      for (const path of workerPaths)
        expect((await fetch(`${String(workerLine.url)}${path}`)).status).toBe(200);
    } finally {
      await Promise.all([api.stop(), worker.stop()]);
    }
  });
});

describe('docker-compose.yml', () => {
  const text = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
  const compose = parseAllDocuments(text)[0].toJS() as Doc;

  it('publishes no port beyond 127.0.0.1', () => {
    const ports = Object.values(compose.services as Record<string, Doc>).flatMap(
      (service) => (service.ports ?? []) as string[],
    );
    expect(ports.length).toBeGreaterThan(0);
    for (const port of ports) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('has no default secret: each one is required, and Redis has a password', () => {
    for (const secret of [
      'POSTGRES_PASSWORD',
      'REDIS_PASSWORD',
      'BULL_BOARD_PASSWORD',
      'METRICS_TOKEN',
    ])
      expect(text).toMatch(new RegExp(`\\$\\{${secret}:\\?`));
    expect(text).not.toMatch(/\$\{[A-Z_]*(PASSWORD|TOKEN):-/);
    expect(compose.services.redis.command).toContain('--requirepass');
    expect(compose['x-app'].environment.REDIS_URL).toMatch(/^redis:\/\/:\$\{REDIS_PASSWORD/);
  });
});

describe('heap limits', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    config: { heapFlags: string };
    scripts: Record<string, string>;
  };

  it('the start scripts give both apps the heap flags of package.json config.heapFlags', () => {
    expect(pkg.config.heapFlags).toMatch(/--max-old-space-size=\d+/);
    for (const app of ['api', 'worker']) {
      const main = `dist/apps/${app}/apps/${app}/src/main.js`;
      expect(pkg.scripts[`start:${app}`]).toBe(`node $npm_package_config_heapFlags ${main}`);
      expect(pkg.scripts.start).toContain(`exec node $npm_package_config_heapFlags ${main}`);
    }
  });

  it('every entry point applies the V8 settings NODE_OPTIONS cannot carry before anything loads', () => {
    for (const entry of ['apps/api/src', 'apps/worker/src', 'apps/api/src/cli']) {
      const main = readFileSync(join(ROOT, entry, 'main.ts'), 'utf8');
      expect(main.split('\n')[0]).toBe("import './instrumentation';");
      const statements = readFileSync(join(ROOT, entry, 'instrumentation.ts'), 'utf8')
        .split('\n')
        .filter((line) => /^\w+\(/.test(line));
      expect(statements[0]).toBe('tuneV8();');
    }
  });

  it('the image runs with the same flags as npm run start:api', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    expect(/NODE_OPTIONS="([^"]*)"/.exec(dockerfile)?.[1]).toBe(pkg.config.heapFlags);
  });
});
