/* eslint-disable no-console -- a command-line tool whose output is its table */
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  BENCH_DATABASE_URL,
  Kind,
  PRODUCTION_ENV,
  Load,
  ROOT,
  Started,
  cli,
  load,
  rssMb,
  sleep,
  start,
  stop,
} from './support';

/**
 * `npm run bench`: what each part of the stack costs, measured side by side in one run and
 * reported as ratios (absolute numbers on a shared machine are noise), plus the figures that have
 * no baseline (jobs/s, RSS, start-up time) with the Node version and CPU beside them. Every
 * process is started from the build on a free port; the load generator runs on the same machine.
 *   --json            also writes bench/results/latest.json
 *   --duration <s>    seconds per measured round (default 5); two rounds per side, alternated
 *   --only <word>     only the measurements whose name contains <word> (e.g. jobs, RSS, logging)
 */

const args = process.argv.slice(2);
const DURATION = Number(args[args.indexOf('--duration') + 1]) || 5;
const ROUNDS = 2;
const WARM_UP_SECONDS = 2;
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].toLowerCase() : undefined;
const wanted = (name: string): boolean => ONLY === undefined || name.toLowerCase().includes(ONLY);

interface Side {
  label: string;
  kind: Kind;
  env: Record<string, string>;
}

interface Comparison {
  name: string;
  /** `/health`, or the authenticated read of one generation. */
  route: 'liveness' | 'read';
  baseline: Side;
  candidate: Side;
  /** What candidate/baseline should reach. */
  target: number;
}

/** Everything cross-cutting that configuration can turn off (auth and headers stay: they are the route). */
const STACK_OFF = {
  LOG_LEVEL: 'silent',
  LOG_TO_FILES: 'false',
  METRICS_ENABLED: 'false',
  RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1',
  KEY_RATE_LIMIT_PER_MINUTE: '0',
};
const FULL = { label: 'full stack', kind: 'api', env: {} } as const;

const COMPARISONS: Comparison[] = [
  {
    name: 'liveness GET /health: full stack vs bare NestJS',
    route: 'liveness',
    baseline: { label: 'bare NestJS', kind: 'bare', env: {} },
    candidate: FULL,
    target: 0.8,
  },
  {
    name: 'authenticated GET /generations/:id: full vs stack off',
    route: 'read',
    baseline: { label: 'stack off', kind: 'api', env: STACK_OFF },
    candidate: FULL,
    target: 0.6,
  },
  {
    name: 'logging to files: on vs LOG_TO_FILES=false',
    route: 'read',
    baseline: { label: 'files off', kind: 'api', env: { LOG_TO_FILES: 'false' } },
    candidate: FULL,
    target: 0.9,
  },
  {
    name: 'rate limiting (Redis): on vs off',
    route: 'read',
    baseline: { label: 'limits off', kind: 'api', env: { RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1' } },
    candidate: FULL,
    target: 0.9,
  },
  {
    name: 'per-key limits (Redis): on vs KEY_RATE_LIMIT_PER_MINUTE=0',
    route: 'read',
    baseline: { label: 'key limits off', kind: 'api', env: { KEY_RATE_LIMIT_PER_MINUTE: '0' } },
    candidate: FULL,
    target: 0.9,
  },
  {
    name: 'metrics: on vs METRICS_ENABLED=false',
    route: 'read',
    baseline: { label: 'metrics off', kind: 'api', env: { METRICS_ENABLED: 'false' } },
    candidate: FULL,
    target: 0.9,
  },
];

interface Context {
  apiKey: string;
  generationId: string;
}

function target(context: Context, started: Started, route: Comparison['route']) {
  return route === 'liveness'
    ? { url: `${started.url}/health`, headers: {} }
    : {
        url: `${started.url}/api/v1/generations/${context.generationId}`,
        headers: { authorization: `Bearer ${context.apiKey}` },
      };
}

interface ComparisonResult {
  name: string;
  baseline: { label: string } & Load;
  candidate: { label: string } & Load;
  ratio: number;
  target: number;
}

async function compare(comparison: Comparison, context: Context): Promise<ComparisonResult> {
  const sides = [comparison.baseline, comparison.candidate];
  const started = await Promise.all(sides.map((side) => start(side.kind, side.env)));
  try {
    const targets = started.map((process) => target(context, process, comparison.route));
    for (const { url, headers } of targets) await load(url, WARM_UP_SECONDS, headers);
    const totals = sides.map(() => ({ rps: 0, p99: 0 }));
    for (let round = 0; round < ROUNDS; round += 1) {
      // alternate which side goes first, so drift on the machine hits both alike
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) {
        const measured = await load(targets[index].url, DURATION, targets[index].headers);
        totals[index].rps += measured.rps / ROUNDS;
        totals[index].p99 = Math.max(totals[index].p99, measured.p99);
      }
    }
    return {
      name: comparison.name,
      baseline: { label: comparison.baseline.label, ...totals[0] },
      candidate: { label: comparison.candidate.label, ...totals[1] },
      ratio: totals[1].rps / totals[0].rps,
      target: comparison.target,
    };
  } finally {
    await Promise.all(started.map(stop));
  }
}

/** Generations per second from the first POST to the last `succeeded` (local provider, no delay). */
async function jobsPerSecond(
  context: Context,
  concurrency: number,
  total: number,
): Promise<number> {
  const env = { WORKER_CONCURRENCY: String(concurrency), LOCAL_PROVIDER_DELAY_MS: '0' };
  const [api, worker] = await Promise.all([start('api', env), start('worker', env)]);
  const db = new Client({ connectionString: BENCH_DATABASE_URL });
  await db.connect();
  try {
    // one warm-up batch (JIT, pools, connections), then the measured one
    await postAndFinish(context, api, worker, concurrency, WARM_UP_JOBS, 0);
    const startedAt = performance.now();
    const { ids, finishedAt } = await postAndFinish(
      context,
      api,
      worker,
      concurrency,
      total,
      WARM_UP_JOBS,
    );
    const elapsed = (finishedAt - startedAt) / 1000;
    const { rows } = await db.query<{ done: string }>(
      `SELECT count(*) AS done FROM generations WHERE id = ANY($1) AND status = 'succeeded'`,
      [ids],
    );
    if (Number(rows[0].done) !== total)
      throw new Error(`${rows[0].done}/${total} generations succeeded`);
    return total / elapsed;
  } finally {
    await db.end();
    await Promise.all([stop(api), stop(worker)]);
  }
}

const WARM_UP_JOBS = 200;

/** POSTs `total` generations and waits until the worker has finished `already + total` jobs. */
async function postAndFinish(
  context: Context,
  api: Started,
  worker: Started,
  concurrency: number,
  total: number,
  already: number,
): Promise<{ ids: string[]; finishedAt: number }> {
  const ids: string[] = [];
  // Not awaited here: autocannon resolves on its one-second ticker, which would round the time up
  const posting = autocannon({
    url: `${api.url}/api/v1/generations`,
    connections: 16,
    amount: total,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${context.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: `bench with WORKER_CONCURRENCY=${concurrency}` }),
        onResponse: (status: number, body: string) => {
          if (status === 202) ids.push((JSON.parse(body) as { id: string }).id);
        },
      },
    ],
  });
  // Finished attempts as the worker counts them (its /metrics): polling PostgreSQL instead
  // would cost the database more than the jobs do. The database confirms at the end.
  const deadline = Date.now() + 120_000;
  while ((await finishedJobs(worker.url)) < already + total) {
    if (Date.now() > deadline) throw new Error('jobs did not finish in 2 minutes');
    await sleep(20);
  }
  const finishedAt = performance.now();
  const posted = await posting;
  if (posted.non2xx > 0 || ids.length !== total)
    throw new Error(`POST: ${posted.non2xx} non-2xx answers, ${ids.length}/${total} accepted`);
  return { ids, finishedAt };
}

async function finishedJobs(workerUrl: string): Promise<number> {
  const text = await (await fetch(`${workerUrl}/metrics`)).text();
  let finished = 0;
  for (const match of text.matchAll(
    /^generation_jobs_total\{[^}]*outcome="(succeeded|failed)"[^}]*\} (\d+)/gm,
  ))
    finished += Number(match[2]);
  return finished;
}

const USAGE_GENERATIONS = 100_000;

/**
 * The usage report of a key with USAGE_GENERATIONS generations spread over 92 days: made by the
 * same create → succeed statements the platform runs (in SQL batches, for speed), so the usage
 * rows are what the real transitions leave. The query reads the per-day table, not the records.
 */
async function usageQuery(): Promise<Load> {
  const apiKey = cli(['apikey:create', '--user', 'bench-usage']).trimEnd().split('\n').pop() ?? '';
  const db = new Client({ connectionString: BENCH_DATABASE_URL });
  await db.connect();
  try {
    const prefix = apiKey.split('_').slice(0, 2).join('_');
    const { rows } = await db.query<{ id: string }>('SELECT id FROM api_keys WHERE prefix = $1', [
      prefix,
    ]);
    const keyId = rows[0].id;
    await db.query(
      `INSERT INTO generations (owner_id, api_key_id, status, prompt, model, attempts,
                                prompt_tokens, completion_tokens, created_at, completed_at)
       SELECT 'bench-usage', $1, 'succeeded', 'bench prompt', 'local-dev-echo', 1, 2, 17,
              now() - (n % 92) * interval '1 day', now() - (n % 92) * interval '1 day'
         FROM generate_series(1, $2) AS n`,
      [keyId, USAGE_GENERATIONS],
    );
    await db.query(
      `INSERT INTO api_key_usage (api_key_id, day, generations, succeeded, prompt_tokens, completion_tokens)
       SELECT api_key_id, (created_at AT TIME ZONE 'UTC')::date, count(*), count(*),
              sum(prompt_tokens), sum(completion_tokens)
         FROM generations WHERE api_key_id = $1 GROUP BY 1, 2`,
      [keyId],
    );
    const api = await start('api');
    try {
      const to = new Date().toISOString().slice(0, 10);
      const from = new Date(Date.now() - 91 * 86_400_000).toISOString().slice(0, 10);
      const url = `${api.url}/api/v1/usage?from=${from}&to=${to}`;
      const headers = { authorization: `Bearer ${apiKey}` };
      await load(url, WARM_UP_SECONDS, headers);
      return await load(url, DURATION, headers);
    } finally {
      await stop(api);
    }
  } finally {
    await db.query(`DELETE FROM generations WHERE owner_id = 'bench-usage'`);
    await db.end();
  }
}

/** Spawn → `/health/ready` answering 200, median of three starts. */
async function readyMs(): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < 3; run += 1) {
    const api = await start('api');
    try {
      for (;;) {
        const response = await fetch(`${api.url}/health/ready`).catch(() => undefined);
        if (response?.status === 200) break;
        await sleep(5);
      }
      times.push(performance.now() - api.spawnedAt);
    } finally {
      await stop(api);
    }
  }
  return times.sort((a, b) => a - b)[1];
}

/** The api's RSS after start-up settles, then after DURATION x 4 seconds of authenticated reads. */
async function rss(
  context: Context,
  env: Record<string, string> = {},
): Promise<{ idle: number; loaded: number }> {
  const api = await start('api', env);
  try {
    await sleep(2000);
    const idle = rssMb(api.proc.pid);
    const { url, headers } = target(context, api, 'read');
    await load(url, DURATION * 4, headers);
    return { idle, loaded: rssMb(api.proc.pid) };
  } finally {
    await stop(api);
  }
}

async function setUp(): Promise<Context> {
  // the bench's own Redis database: jobs left by an earlier run would be drained first...
  const redis = new Redis(PRODUCTION_ENV.REDIS_URL);
  await redis.flushdb();
  await redis.quit();
  cli(['db:setup']);
  // ...and its own database: records left queued would be re-queued by the worker's reconciler
  const db = new Client({ connectionString: BENCH_DATABASE_URL });
  await db.connect();
  await db.query('TRUNCATE generations');
  await db.end();
  const apiKey = cli(['apikey:create', '--user', 'bench']).trimEnd().split('\n').pop() ?? '';
  const api = await start('api');
  try {
    const response = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'the generation every read fetches' }),
    });
    const { id } = (await response.json()) as { id: string };
    return { apiKey, generationId: id };
  } finally {
    await stop(api);
  }
}

const fixed = (value: number, digits = 0): string => value.toFixed(digits);

async function main(): Promise<void> {
  const machine = `node ${process.version} | ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}`;
  console.log(machine);
  console.log(
    `${DURATION}s x ${ROUNDS} rounds per side (alternated), 32 connections, after a ${WARM_UP_SECONDS}s warm-up\n`,
  );
  const context = await setUp();

  const comparisons: ComparisonResult[] = [];
  for (const comparison of COMPARISONS.filter((c) => wanted(c.name)))
    comparisons.push(await compare(comparison, context));

  const absolute: { name: string; value: number; unit: string; goal: string; met: boolean }[] = [];
  for (const concurrency of wanted('jobs/s end to end') ? [1, 4] : []) {
    const value = await jobsPerSecond(context, concurrency, 1000);
    absolute.push({
      name: `jobs/s end to end, WORKER_CONCURRENCY=${concurrency}`,
      value,
      unit: 'jobs/s',
      goal: concurrency === 4 ? '>= 300' : '',
      met: concurrency === 4 ? value >= 300 : true,
    });
  }
  if (wanted('usage')) {
    const usage = await usageQuery();
    absolute.push({
      name: `GET /api/v1/usage, 92 days, key with ${USAGE_GENERATIONS / 1000}k generations`,
      value: usage.rps,
      unit: 'req/s',
      goal: '',
      met: true,
    });
    absolute.push({
      name: 'GET /api/v1/usage, 92 days: p99 latency',
      value: usage.p99,
      unit: 'ms',
      goal: '',
      met: true,
    });
  }
  if (wanted('api RSS')) {
    const memory = await rss(context);
    absolute.push({ name: 'api RSS idle', value: memory.idle, unit: 'MB', goal: '', met: true });
    absolute.push({
      name: 'api RSS after load',
      value: memory.loaded,
      unit: 'MB',
      goal: '< 250',
      met: memory.loaded < 250,
    });
    const defaults = await rss(context, { NODE_OPTIONS: '' });
    absolute.push({
      name: "api RSS idle, Node's default heap sizing",
      value: defaults.idle,
      unit: 'MB',
      goal: '',
      met: true,
    });
    absolute.push({
      name: "api RSS after load, Node's default heap sizing",
      value: defaults.loaded,
      unit: 'MB',
      goal: '',
      met: true,
    });
  }
  if (wanted('api start to ready')) {
    const ready = await readyMs();
    absolute.push({
      name: 'api start to ready (/health/ready 200)',
      value: ready,
      unit: 'ms',
      goal: '< 3000',
      met: ready < 3000,
    });
  }

  const header = ['comparison', 'baseline req/s', 'candidate req/s', 'ratio', 'target', ''];
  const rows = comparisons.map((c) => [
    c.name,
    `${fixed(c.baseline.rps)} (${c.baseline.label})`,
    `${fixed(c.candidate.rps)} (${c.candidate.label})`,
    fixed(c.ratio, 2),
    `>= ${c.target}`,
    c.ratio >= c.target ? 'ok' : 'MISSED',
  ]);
  printTable(header, rows);
  console.log('');
  printTable(
    ['absolute', 'value', 'goal', ''],
    absolute.map((a) => [
      a.name,
      `${fixed(a.value)} ${a.unit}`,
      a.goal,
      a.goal ? (a.met ? 'ok' : 'MISSED') : '',
    ]),
  );

  if (args.includes('--json')) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'latest.json');
    writeFileSync(
      file,
      JSON.stringify(
        {
          node: process.version,
          cpu: cpus()[0]?.model,
          cpus: cpus().length,
          durationSeconds: DURATION,
          comparisons,
          absolute,
        },
        null,
        2,
      ),
    );
    console.log(`\nJSON written to ${file}`);
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((title, index) =>
    Math.max(title.length, ...rows.map((row) => row[index].length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const row of rows) console.log(line(row));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
