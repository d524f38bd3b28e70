/* eslint-disable no-console -- a command-line tool whose output is its table */
import autocannon from 'autocannon';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * `npm run bench`: measures what each part of the stack costs, side by side in one run, as
 * ratios (absolute numbers on a shared machine are noise). Each comparison starts its own
 * processes from the build on free ports, warms up, then alternates the two sides.
 *   --json            also writes bench/results/latest.json
 *   --duration <s>    seconds per measured round (default 8)
 */

const ROOT = join(__dirname, '..');
const API_MAIN = join(ROOT, 'dist/apps/api/apps/api/src/main.js');
const CLI_MAIN = join(ROOT, 'dist/apps/api/apps/api/src/cli/main.js');
const WORKER_MAIN = join(ROOT, 'dist/apps/worker/apps/worker/src/main.js');
const args = process.argv.slice(2);
const DURATION = Number(args[args.indexOf('--duration') + 1]) || 8;
const ROUNDS = 2;

interface Side {
  label: string;
  env: Record<string, string>;
}

interface Comparison {
  name: string;
  path: string;
  /** Needs an API key in the Authorization header. */
  authenticated?: boolean;
  baseline: Side;
  candidate: Side;
  /** What the ratio candidate/baseline should reach. */
  target: number;
}

const PRODUCTION_ENV = {
  ENVIRONMENT: 'production',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  SHUTDOWN_DRAIN_DELAY_MS: '0',
  DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_bench',
  REDIS_URL: 'redis://127.0.0.1:6379/2',
};

const COMPARISONS: Comparison[] = [
  {
    name: 'logging: files on vs LOG_TO_FILES=false',
    path: '/health',
    baseline: { label: 'LOG_TO_FILES=false', env: { LOG_TO_FILES: 'false' } },
    candidate: { label: 'files on', env: { LOG_TO_FILES: 'true' } },
    target: 0.85,
  },
  {
    name: 'rate limiting: on vs off (authenticated read)',
    path: '/api/v1/me',
    authenticated: true,
    // "Off" is the exempt path: the limiter returns before any Redis round trip.
    baseline: { label: 'limits off (exempt)', env: { RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1' } },
    candidate: {
      label: 'limits on (Redis)',
      env: { RATE_LIMIT_EXEMPT_IPS: '', RATE_LIMIT_PER_MINUTE: '100000000' },
    },
    target: 0.9,
  },
];

interface Started {
  proc: ChildProcess;
  url: string;
}

function startApi(env: Record<string, string>, main = API_MAIN): Promise<Started> {
  const logDir = mkdtempSync(join(tmpdir(), 'rl-bench-'));
  const proc = spawn(process.execPath, [main], {
    env: { PATH: process.env.PATH, ...PRODUCTION_ENV, PORT: '0', LOG_DIR: logDir, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk: Buffer): void => {
      buffer += chunk.toString();
      const match =
        /"url":"(http:\/\/[^"]+)"/.exec(buffer) ??
        (main === WORKER_MAIN && /worker started/.exec(buffer) ? ['', ''] : null);
      if (match) {
        proc.stdout?.off('data', onData);
        proc.stdout?.resume();
        resolve({ proc, url: match[1].replace('[::1]', '127.0.0.1') });
      }
    };
    proc.stdout?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`api exited with ${code} before listening`)));
  });
}

async function stop(started: Started): Promise<void> {
  const exited = new Promise((resolve) => started.proc.once('exit', resolve));
  started.proc.kill('SIGTERM');
  await exited;
}

let apiKey = '';

async function load(
  url: string,
  duration: number,
  authenticated = false,
): Promise<{ rps: number; p99: number }> {
  const headers: Record<string, string> = authenticated
    ? { authorization: `Bearer ${apiKey}` }
    : {};
  const result = await autocannon({ url, connections: 32, duration, pipelining: 1, headers });
  if (result.non2xx > 0) throw new Error(`${url}: ${result.non2xx} responses were not 2xx`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

interface Row {
  comparison: string;
  side: string;
  rps: number;
  p99Ms: number;
}

async function runComparison(comparison: Comparison): Promise<{ rows: Row[]; ratio: number }> {
  const sides = [comparison.baseline, comparison.candidate];
  const started = await Promise.all(sides.map((side) => startApi(side.env)));
  try {
    for (const api of started) await load(api.url + comparison.path, 2, comparison.authenticated); // warm-up
    const totals = sides.map(() => ({ rps: 0, p99: 0 }));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [index, api] of started.entries()) {
        const measured = await load(api.url + comparison.path, DURATION, comparison.authenticated);
        totals[index].rps += measured.rps / ROUNDS;
        totals[index].p99 = Math.max(totals[index].p99, measured.p99);
      }
    }
    const rows = sides.map((side, index) => ({
      comparison: comparison.name,
      side: side.label,
      rps: Math.round(totals[index].rps),
      p99Ms: totals[index].p99,
    }));
    return { rows, ratio: totals[1].rps / totals[0].rps };
  } finally {
    await Promise.all(started.map(stop));
  }
}

/** Absolute: generations per second from POST to succeeded, local provider without delay. */
async function jobsPerSecond(concurrency: number, total: number): Promise<number> {
  const env = {
    REDIS_URL: 'redis://127.0.0.1:6379/12',
    WORKER_CONCURRENCY: String(concurrency),
    WORKER_HEALTH_PORT: '0',
  };
  const api = await startApi(env);
  const worker = await startApi(env, WORKER_MAIN);
  try {
    const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    const started = performance.now();
    const ids: string[] = [];
    for (let batch = 0; batch < total / 25; batch += 1) {
      const created = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          fetch(`${api.url}/api/v1/generations`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ prompt: `bench ${concurrency} ${batch} ${i} ${Date.now()}` }),
          }).then((r) => r.json() as Promise<{ id: string }>),
        ),
      );
      ids.push(...created.map((g) => g.id));
    }
    const pending = new Set(ids);
    while (pending.size > 0) {
      for (const id of [...pending].slice(0, 50)) {
        const generation = (await (
          await fetch(`${api.url}/api/v1/generations/${id}`, { headers })
        ).json()) as { status: string };
        if (generation.status === 'succeeded' || generation.status === 'failed') pending.delete(id);
      }
    }
    return total / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all([stop(api), stop(worker)]);
  }
}

async function main(): Promise<void> {
  const cliEnv = {
    PATH: process.env.PATH,
    ...PRODUCTION_ENV,
    LOG_TO_FILES: 'false',
    LOG_LEVEL: 'warn',
  };
  execFileSync(process.execPath, [CLI_MAIN, 'db:setup'], { env: cliEnv, stdio: 'inherit' });
  const created = execFileSync(process.execPath, [CLI_MAIN, 'apikey:create', '--user', 'bench'], {
    env: cliEnv,
  });
  apiKey = created.toString().trimEnd().split('\n').pop() ?? '';
  const results = [];
  console.log(`node ${process.version} | ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}`);
  console.log(`${DURATION}s x ${ROUNDS} rounds per side, 32 connections\n`);
  for (const comparison of COMPARISONS) {
    const { rows, ratio } = await runComparison(comparison);
    results.push({ ...comparison, rows, ratio });
    for (const row of rows) {
      console.log(
        `${row.comparison.padEnd(45)} ${row.side.padEnd(22)} ${String(row.rps).padStart(8)} req/s  p99 ${row.p99Ms} ms`,
      );
    }
    const verdict = ratio >= comparison.target ? 'meets' : 'misses';
    console.log(
      `${''.padEnd(45)} ratio ${ratio.toFixed(2)} (${verdict} target ${comparison.target})\n`,
    );
  }
  const absolute: Record<string, number> = {};
  for (const concurrency of [1, 4]) {
    absolute[`jobs/s end to end, WORKER_CONCURRENCY=${concurrency}`] = Math.round(
      await jobsPerSecond(concurrency, 300),
    );
  }
  {
    const api = await startApi({ REDIS_URL: 'redis://127.0.0.1:6379/12' });
    try {
      const created = (await (
        await fetch(`${api.url}/api/v1/generations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ prompt: 'read me' }),
        })
      ).json()) as { id: string };
      await load(`${api.url}/api/v1/generations/${created.id}`, 2, true);
      const measured = await load(`${api.url}/api/v1/generations/${created.id}`, DURATION, true);
      absolute['authenticated GET /api/v1/generations/:id req/s'] = Math.round(measured.rps);
    } finally {
      await stop(api);
    }
  }
  for (const [name, value] of Object.entries(absolute)) console.log(`${name.padEnd(68)} ${value}`);
  results.push({ absolute } as never);

  if (args.includes('--json')) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'latest.json');
    writeFileSync(
      file,
      JSON.stringify({ node: process.version, cpu: cpus()[0]?.model, results }, null, 2),
    );
    console.log(`JSON written to ${file}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
