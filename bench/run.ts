/* eslint-disable no-console -- a command-line tool whose output is its table */
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { cpus } from 'node:os';
import { AddressInfo, connect, Socket } from 'node:net';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  BENCH_DATABASE_URL,
  CONNECTIONS,
  Kind,
  PRODUCTION_ENV,
  Load,
  ROOT,
  Started,
  cli,
  cpuMs,
  createKey,
  load,
  rssMb,
  sleep,
  start,
  stop,
} from './support';

/**
 * `npm run bench`: the full stack against the baselines it builds itself (bench/baselines: the
 * plain node:http + pg cost floor, NestJS by its packages' documentation defaults, bare NestJS)
 * and against itself with one part off, measured side by side in one run and reported as the
 * median of per-round ratios with their spread (absolute numbers on a shared machine are noise);
 * plus the job path (accepted POSTs/s, jobs/s), memory, start-up time with the Node version and
 * CPU beside them. Every process is started on a free port (the api and worker from the build,
 * with the start scripts' heap flags); the load generator runs on the same machine.
 *   --json            also writes bench/results/latest.json (its `summary` has the headline figures)
 *   --duration <s>    seconds per measured round (default 5)
 *   --rounds <n>      rounds per group (default and least 3); each round loads every side once
 *   --only <word>     only the measurements whose name contains <word> (e.g. jobs, RSS, floor)
 */

const args = process.argv.slice(2);
const DURATION = Number(args[args.indexOf('--duration') + 1]) || 5;
const ROUNDS = Math.max(3, Number(args[args.indexOf('--rounds') + 1]) || 3);
const WARM_UP_SECONDS = 2;
const ONLY = args.includes('--only') ? args[args.indexOf('--only') + 1].toLowerCase() : undefined;
const wanted = (name: string): boolean => ONLY === undefined || name.toLowerCase().includes(ONLY);

interface Side {
  label: string;
  kind: Kind;
  env?: Record<string, string>;
}

/** Sides measured in one group: each round loads every side once, in a rotating order. */
interface Group {
  route: 'liveness' | 'read' | 'read-spread';
  candidate: Side;
  baselines: {
    name: string;
    side: Side;
    floor?: number;
    target?: number;
    summary?: SummaryField;
  }[];
}

type SummaryField = 'readVsFloor' | 'readVsDocsDefault' | 'livenessVsBare';

/** Everything cross-cutting that configuration can turn off (auth and headers stay: they are the route). */
const STACK_OFF = {
  LOG_LEVEL: 'silent',
  LOG_TO_FILES: 'false',
  METRICS_ENABLED: 'false',
  RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1',
  KEY_RATE_LIMIT_PER_MINUTE: '0',
};
const FULL: Side = { label: 'full stack', kind: 'api' };
/** Tracing on: OTLP/HTTP to a receiver in this process (filled in by `main`, which starts it). */
const TRACING_ON: Record<string, string> = {};

/** One side against its baseline, on the same route, in the same rounds. */
const onOff = (name: string, label: string, env: Record<string, string>, floor = 0.9): Group => ({
  route: 'read',
  candidate: FULL,
  baselines: [{ name, side: { label, kind: 'api', env }, floor }],
});

const GROUPS: Group[] = [
  {
    route: 'read',
    candidate: FULL,
    baselines: [
      {
        name: 'authenticated GET /generations/:id: full stack vs plain node:http + pg',
        side: { label: 'node:http + pg', kind: 'floor' },
        floor: 0.5,
        target: 0.6,
        summary: 'readVsFloor',
      },
      {
        name: 'authenticated GET /generations/:id: full stack vs NestJS docs defaults',
        side: { label: 'docs defaults', kind: 'docs-default' },
        floor: 1.3,
        summary: 'readVsDocsDefault',
      },
      {
        name: 'authenticated GET /generations/:id: full stack vs docs defaults, in-memory throttler',
        side: {
          label: 'docs defaults, memory',
          kind: 'docs-default',
          env: { BENCH_THROTTLER_STORAGE: 'memory' },
        },
      },
    ],
  },
  {
    // for reading: no owner has two reads at once, so none go to PostgreSQL together
    route: 'read-spread',
    candidate: FULL,
    baselines: [
      {
        name: `authenticated GET /generations/:id, one key per connection (${CONNECTIONS} users): full stack vs plain node:http + pg`,
        side: { label: 'node:http + pg', kind: 'floor' },
      },
    ],
  },
  {
    route: 'liveness',
    candidate: FULL,
    baselines: [
      {
        name: 'liveness GET /health: full stack vs bare NestJS',
        side: { label: 'bare NestJS', kind: 'bare-nest' },
        floor: 0.7,
        summary: 'livenessVsBare',
      },
      {
        name: 'liveness GET /health: full stack vs bare NestJS on the Fastify adapter',
        side: {
          label: 'bare NestJS, Fastify',
          kind: 'bare-nest',
          env: { BENCH_HTTP_ADAPTER: 'fastify' },
        },
      },
    ],
  },
  {
    // for reading: nothing differs but the process — how far this run's ratios move by themselves
    route: 'read',
    candidate: FULL,
    baselines: [
      {
        name: 'control: full stack vs the same build in a second process',
        side: { label: 'full stack, again', kind: 'api' },
      },
    ],
  },
  onOff('authenticated GET /generations/:id: full vs stack off', 'stack off', STACK_OFF, 0.6),
  onOff('logging to files: on vs LOG_TO_FILES=false', 'files off', { LOG_TO_FILES: 'false' }),
  {
    // stdout's share, for reading: at warn the access lines still go to access.log
    route: 'read',
    candidate: FULL,
    baselines: [
      {
        name: 'logging to stdout: LOG_LEVEL=info vs warn (access lines in the file either way)',
        side: { label: 'stdout at warn', kind: 'api', env: { LOG_LEVEL: 'warn' } },
      },
    ],
  },
  onOff('rate limiting (Redis): on vs off', 'limits off', {
    RATE_LIMIT_EXEMPT_IPS: '127.0.0.1,::1',
  }),
  onOff('per-key limits (Redis): on vs KEY_RATE_LIMIT_PER_MINUTE=0', 'key limits off', {
    KEY_RATE_LIMIT_PER_MINUTE: '0',
  }),
  onOff('metrics: on vs METRICS_ENABLED=false', 'metrics off', { METRICS_ENABLED: 'false' }),
  {
    route: 'read',
    candidate: { label: 'tracing on', kind: 'api', env: TRACING_ON },
    baselines: [
      {
        name: 'tracing: on (OTLP/HTTP to a local receiver, default batching) vs off',
        side: FULL,
        floor: 0.8,
      },
    ],
  },
];

/** An OTLP/HTTP receiver that takes every export and keeps nothing: the collector's side. */
async function startOtlpSink(): Promise<{ url: string; close: () => void }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

interface Reader {
  apiKey: string;
  generationId: string;
}

/** The reader of every read load, and for `read-spread` one reader (key, user) per connection. */
interface Context extends Reader {
  readers: Reader[];
}

interface Target {
  url: string;
  headers: Record<string, string>;
  /** Each request's path and headers, when they change from request to request. */
  each?: () => { path: string; headers: Record<string, string> };
}

const readOf = ({ apiKey, generationId }: Reader) => ({
  path: `/api/v1/generations/${generationId}`,
  headers: { authorization: `Bearer ${apiKey}` },
});

function target(context: Context, started: Started, route: Group['route']): Target {
  if (route === 'liveness') return { url: `${started.url}/health`, headers: {} };
  const { path, headers } = readOf(context);
  if (route === 'read') return { url: `${started.url}${path}`, headers };
  let turn = 0;
  const each = () => readOf(context.readers[turn++ % context.readers.length]);
  return { url: `${started.url}${path}`, headers, each };
}

interface Measured {
  label: string;
  rps: number[];
  p99: number;
  /** The server process's CPU per answered request, per round, in microseconds. */
  cpuUsPerRequest: number[];
}

interface ComparisonResult {
  name: string;
  baseline: Measured;
  candidate: Measured;
  /** The median of the per-round ratios (candidate / baseline), and their lowest and highest. */
  ratio: number;
  spread: [number, number];
  floor?: number;
  target?: number;
  summary?: SummaryField;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * Runs ROUNDS rounds of a group. Each round starts every side afresh, then warms up and loads
 * each in turn, the order rotated from round to round, so that drift on the machine hits all alike;
 * and a fresh process per round, because one process of a build can run a third slower or faster
 * than another of the same build for as long as it lives (the control row shows it): with one
 * process per side, that luck would be the result. A ratio is taken per round (candidate /
 * baseline, same round) and reported as the median.
 */
async function measureGroup(group: Group, context: Context): Promise<ComparisonResult[]> {
  const sides = [group.candidate, ...group.baselines.map((baseline) => baseline.side)];
  const rounds: (Load & { cpuUs: number })[][] = sides.map(() => []);
  for (let round = 0; round < ROUNDS; round += 1) {
    const started = await Promise.all(sides.map((side) => start(side.kind, { env: side.env })));
    try {
      const targets = started.map((process) => target(context, process, group.route));
      for (let step = 0; step < sides.length; step += 1) {
        const index = (round + step) % sides.length;
        const { url, headers, each } = targets[index];
        // warmed up right before its own load: no side waits idle between the two
        await load(url, WARM_UP_SECONDS, headers, each);
        const cpuBefore = cpuMs(started[index].proc.pid);
        const measured = await load(url, DURATION, headers, each);
        const cpuUs = ((cpuMs(started[index].proc.pid) - cpuBefore) * 1000) / measured.requests;
        rounds[index].push({ ...measured, cpuUs });
      }
    } finally {
      await Promise.all(started.map(stop));
    }
  }
  const summarise = (label: string, loads: (Load & { cpuUs: number })[]): Measured => ({
    label,
    rps: loads.map((measured) => measured.rps),
    p99: Math.max(...loads.map((measured) => measured.p99)),
    cpuUsPerRequest: loads.map((measured) => measured.cpuUs),
  });
  const candidate = summarise(group.candidate.label, rounds[0]);
  return group.baselines.map((baseline, index) => {
    const ratios = rounds[0].map((measured, round) => measured.rps / rounds[index + 1][round].rps);
    return {
      name: baseline.name,
      baseline: summarise(baseline.side.label, rounds[index + 1]),
      candidate,
      ratio: median(ratios),
      spread: [Math.min(...ratios), Math.max(...ratios)],
      floor: baseline.floor,
      target: baseline.target,
      summary: baseline.summary,
    };
  });
}

/** The worker as the job path runs it: the local provider without its delay. */
const JOB_PATH_ENV = { WORKER_CONCURRENCY: '4', LOCAL_PROVIDER_DELAY_MS: '0' };
const POST_CONNECTIONS = 20;
const POSTS_SECONDS = 10;
const JOBS = 5000;

interface JobPath {
  postsPerSecond: number;
  jobsPerSecond: number;
}

/**
 * The job path with the worker running: accepted POSTs per second (POST_CONNECTIONS connections,
 * distinct prompts, no Idempotency-Key, POSTS_SECONDS measured after a warm-up), then — once the
 * worker has finished those — jobs per second from the first POST to the last `succeeded` of JOBS
 * generations. Every accepted generation must end `succeeded`.
 */
async function jobPath(context: Context): Promise<JobPath> {
  const [api, worker] = await Promise.all([
    start('api', { env: JOB_PATH_ENV }),
    start('worker', { env: JOB_PATH_ENV }),
  ]);
  const db = new Client({ connectionString: BENCH_DATABASE_URL });
  await db.connect();
  try {
    const warmUp = await post(context, api, { duration: WARM_UP_SECONDS });
    const measured = await post(context, api, { duration: POSTS_SECONDS });
    // (autocannon does not report the answers in flight when its time is up: ask the database)
    await drained(db);

    const already = await finishedJobs(worker.url);
    const startedAt = Date.now();
    const { ids } = await post(context, api, { amount: JOBS });
    if (ids.length !== JOBS) throw new Error(`${ids.length}/${JOBS} POSTs accepted`);
    await finished(worker, already + JOBS);
    // the end is the last record's completedAt (PostgreSQL's clock is this machine's): polling
    // only has to notice that it has come, so it can be slow enough to cost the worker nothing
    const { rows: last } = await db.query<{ at: Date }>(
      'SELECT max(completed_at) AS at FROM generations WHERE id = ANY($1)',
      [ids],
    );
    const jobsPerSecond = JOBS / ((last[0].at.getTime() - startedAt) / 1000);

    const all = [...warmUp.ids, ...measured.ids, ...ids];
    const { rows } = await db.query<{ done: string }>(
      `SELECT count(*) AS done FROM generations WHERE id = ANY($1) AND status = 'succeeded'`,
      [all],
    );
    if (Number(rows[0].done) !== all.length)
      throw new Error(`${rows[0].done}/${all.length} generations succeeded`);
    return { postsPerSecond: measured.ids.length / measured.seconds, jobsPerSecond };
  } finally {
    await db.end();
    await Promise.all([stop(api), stop(worker)]);
  }
}

let prompts = 0;

/** POSTs generations with distinct prompts for a duration or an amount; any non-202 fails the run. */
async function post(
  context: Context,
  api: Started,
  options: { duration: number } | { amount: number },
): Promise<{ ids: string[]; seconds: number }> {
  const ids: string[] = [];
  const result = await autocannon({
    url: `${api.url}/api/v1/generations`,
    connections: POST_CONNECTIONS,
    pipelining: 1,
    ...options,
    requests: [
      {
        method: 'POST',
        headers: { authorization: `Bearer ${context.apiKey}`, 'content-type': 'application/json' },
        setupRequest: (request) => ({
          ...request,
          body: JSON.stringify({ prompt: `bench prompt number ${(prompts += 1)}` }),
        }),
        onResponse: (status: number, body: string) => {
          if (status === 202) ids.push((JSON.parse(body) as { id: string }).id);
        },
      },
    ],
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`POST: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { ids, seconds: result.duration };
}

/**
 * Waits until the worker has finished `total` attempts, as it counts them (its /metrics, read
 * every 200 ms like a very eager Prometheus): polling PostgreSQL instead would cost the database
 * more than the jobs do. The database confirms after.
 */
async function finished(worker: Started, total: number): Promise<void> {
  const deadline = Date.now() + 300_000;
  while ((await finishedJobs(worker.url)) < total) {
    if (Date.now() > deadline) throw new Error(`${total} jobs did not finish in 5 minutes`);
    await sleep(200);
  }
}

/** Waits until no generation is queued or running. */
async function drained(db: Client): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const { rows } = await db.query<{ open: string }>(
      `SELECT count(*) AS open FROM generations WHERE status IN ('queued', 'running')`,
    );
    if (rows[0].open === '0') return;
    if (Date.now() > deadline)
      throw new Error(`${rows[0].open} generations unfinished after 5 minutes`);
    await sleep(100);
  }
}

async function finishedJobs(workerUrl: string): Promise<number> {
  const text = await (await fetch(`${workerUrl}/metrics`)).text();
  let done = 0;
  for (const match of text.matchAll(
    /^generation_jobs_total\{[^}]*outcome="(succeeded|failed)"[^}]*\} (\d+)/gm,
  ))
    done += Number(match[2]);
  return done;
}

const USAGE_GENERATIONS = 100_000;

/**
 * The usage report of a key with USAGE_GENERATIONS generations spread over 92 days: made by the
 * same create → succeed statements the platform runs (in SQL batches, for speed), so the usage
 * rows are what the real transitions leave. The query reads the per-day table, not the records.
 */
async function usageQuery(): Promise<Load> {
  const apiKey = await createKey('bench-usage');
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

const RSS_LOAD_SECONDS = 30;

/** The api's RSS after start-up settles, then after RSS_LOAD_SECONDS of the read load. */
async function rss(context: Context, heapFlags = true): Promise<{ idle: number; loaded: number }> {
  const api = await start('api', { heapFlags });
  try {
    await sleep(2000);
    const idle = rssMb(api.proc.pid);
    const { url, headers } = target(context, api, 'read');
    await load(url, RSS_LOAD_SECONDS, headers);
    return { idle, loaded: rssMb(api.proc.pid) };
  } finally {
    await stop(api);
  }
}

const IDLE_STREAMS = 100;
const IDLE_SECONDS = 20;

interface IdleStreams {
  rssWithout: number;
  rssWith: number;
  cpuMsPerSecondWithout: number;
  cpuMsPerSecondWith: number;
}

/**
 * What IDLE_STREAMS open, idle event streams cost one api process: its RSS and CPU over
 * IDLE_SECONDS (a heartbeat every 15 s included) with them, against the same idle time before
 * they opened. The generation they watch stays queued (no worker runs here); a cancel ends them.
 */
async function idleStreams(context: Context): Promise<IdleStreams> {
  const api = await start('api', { env: { GENERATIONS_MAX_STREAMS: String(IDLE_STREAMS * 2) } });
  const readers: AbortController[] = [];
  const headers = { authorization: `Bearer ${context.apiKey}` };
  try {
    const created = await fetch(`${api.url}/api/v1/generations`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'watched by idle streams' }),
    });
    const { id } = (await created.json()) as { id: string };
    const idle = async (): Promise<number> => {
      const before = cpuMs(api.proc.pid);
      await sleep(IDLE_SECONDS * 1000);
      return (cpuMs(api.proc.pid) - before) / IDLE_SECONDS;
    };
    await sleep(2000);
    const rssWithout = rssMb(api.proc.pid);
    const cpuMsPerSecondWithout = await idle();
    for (let index = 0; index < IDLE_STREAMS; index += 1) {
      const reader = new AbortController();
      const response = await fetch(`${api.url}/api/v1/generations/${id}/events`, {
        headers,
        signal: reader.signal,
      });
      if (response.status !== 200) throw new Error(`stream ${index} answered ${response.status}`);
      readers.push(reader);
      void response.body?.pipeTo(new WritableStream()).catch(() => undefined);
    }
    await sleep(2000);
    const rssWith = rssMb(api.proc.pid);
    const cpuMsPerSecondWith = await idle();
    await fetch(`${api.url}/api/v1/generations/${id}`, { method: 'DELETE', headers });
    return { rssWithout, rssWith, cpuMsPerSecondWithout, cpuMsPerSecondWith };
  } finally {
    for (const reader of readers) reader.abort();
    await stop(api);
  }
}

const BIG_BODIES = 50;
const BIG_BODY_WAVES = 4;
const OPEN_CONNECTIONS = 100;

/**
 * The worst case of memory, with the start script's heap flags: OPEN_CONNECTIONS kept-alive
 * connections held open (until event streams exist, the longest-lived connections a client can
 * hold) while BIG_BODY_WAVES waves of BIG_BODIES concurrent 1 MB JSON bodies arrive. Survives =
 * every body got a 4xx and the process still answers `/health`. Returns the highest RSS seen.
 */
async function worstCase(context: Context): Promise<number> {
  const api = await start('api');
  let peak = rssMb(api.proc.pid);
  const sampler = setInterval(() => (peak = Math.max(peak, rssMb(api.proc.pid))), 25);
  const sockets: Socket[] = [];
  try {
    const port = Number(new URL(api.url).port);
    const path = `/api/v1/generations/${context.generationId}`;
    for (let index = 0; index < OPEN_CONNECTIONS; index += 1)
      sockets.push(await heldOpen(port, path, context.apiKey));
    const body = JSON.stringify({ prompt: 'x'.repeat(1_000_000) });
    for (let wave = 0; wave < BIG_BODY_WAVES; wave += 1) {
      const statuses = await Promise.all(
        Array.from({ length: BIG_BODIES }, () =>
          fetch(`${api.url}/api/v1/generations`, {
            method: 'POST',
            headers: {
              authorization: `Bearer ${context.apiKey}`,
              'content-type': 'application/json',
            },
            body,
          }).then((response) => response.status),
        ),
      );
      const unexpected = statuses.filter((status) => status < 400 || status >= 500);
      if (unexpected.length > 0) throw new Error(`1 MB bodies answered ${unexpected.join(', ')}`);
    }
    const health = await fetch(`${api.url}/health`);
    if (health.status !== 200)
      throw new Error(`/health answered ${health.status} after the worst case`);
    return peak;
  } finally {
    clearInterval(sampler);
    for (const socket of sockets) socket.destroy();
    await stop(api);
  }
}

/** A connection that made one authenticated read and stays open, idle. */
function heldOpen(port: number, path: string, apiKey: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${apiKey}\r\n\r\n`,
      ),
    );
    socket.once('data', () => resolve(socket));
    socket.once('error', reject);
  });
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
  // one key per connection, only when a spread read is measured (each key is a CLI process)
  const spread = GROUPS.some(
    (group) => group.route === 'read-spread' && group.baselines.some((b) => wanted(b.name)),
  );
  const readerKeys: string[] = [];
  for (let user = 0; spread && user < CONNECTIONS; user += 5)
    readerKeys.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(5, CONNECTIONS - user) }, (_, index) =>
          createKey(`bench-reader-${user + index}`),
        ),
      )),
    );
  const apiKey = await createKey('bench');
  const api = await start('api');
  try {
    const reader = async (key: string): Promise<Reader> => {
      const response = await fetch(`${api.url}/api/v1/generations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ prompt: 'the generation every read fetches' }),
      });
      const { id } = (await response.json()) as { id: string };
      return { apiKey: key, generationId: id };
    };
    return { ...(await reader(apiKey)), readers: await Promise.all(readerKeys.map(reader)) };
  } finally {
    await stop(api);
  }
}

const fixed = (value: number, digits = 0): string => value.toFixed(digits);

async function main(): Promise<void> {
  const machine = `node ${process.version} | ${cpus()[0]?.model ?? 'unknown cpu'} x${cpus().length}`;
  console.log(machine);
  console.log(
    `${DURATION}s x ${ROUNDS} rounds per side (rotated; fresh processes each round), ${CONNECTIONS} connections, after a ${WARM_UP_SECONDS}s warm-up\n`,
  );
  const context = await setUp();
  const sink = await startOtlpSink();
  TRACING_ON.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;

  const comparisons: ComparisonResult[] = [];
  for (const group of GROUPS) {
    const picked = { ...group, baselines: group.baselines.filter((b) => wanted(b.name)) };
    if (picked.baselines.length > 0) comparisons.push(...(await measureGroup(picked, context)));
  }
  sink.close();

  const absolute: Absolute[] = [];
  const summary: Partial<Record<string, number>> = {};
  for (const c of comparisons) if (c.summary) summary[c.summary] = c.ratio;
  const add = (row: Absolute, field?: string): void => {
    absolute.push(row);
    if (field) summary[field] = row.value;
  };
  if (wanted('jobs')) {
    const path = await jobPath(context);
    add(
      {
        name: `accepted POSTs/s, ${POST_CONNECTIONS} connections, worker running`,
        value: path.postsPerSecond,
        unit: '/s',
        goal: '>= 600 (target 800)',
        met: path.postsPerSecond >= 600,
      },
      'postsPerSecond',
    );
    add(
      {
        name: `jobs/s, first POST to last succeeded of ${JOBS}, WORKER_CONCURRENCY=4`,
        value: path.jobsPerSecond,
        unit: 'jobs/s',
        goal: '>= 600 (target 800)',
        met: path.jobsPerSecond >= 600,
      },
      'jobsPerSecond',
    );
  }
  if (wanted('streams')) {
    const streams = await idleStreams(context);
    add({
      name: `api RSS with ${IDLE_STREAMS} idle event streams open (${fixed(streams.rssWithout)} MB without)`,
      value: streams.rssWith,
      unit: 'MB',
    });
    add({
      name: `api CPU over ${IDLE_SECONDS}s with ${IDLE_STREAMS} idle event streams (${fixed(streams.cpuMsPerSecondWithout, 1)} ms/s without)`,
      value: streams.cpuMsPerSecondWith,
      unit: 'ms/s',
    });
  }
  if (wanted('usage')) {
    const usage = await usageQuery();
    add({
      name: `GET /api/v1/usage, 92 days, key with ${USAGE_GENERATIONS / 1000}k generations`,
      value: usage.rps,
      unit: 'req/s',
    });
    add({ name: 'GET /api/v1/usage, 92 days: p99 latency', value: usage.p99, unit: 'ms' });
  }
  if (wanted('RSS')) {
    const memory = await rss(context);
    add({ name: 'api RSS idle, as npm run start:api starts it', value: memory.idle, unit: 'MB' });
    add(
      {
        name: `api RSS after ${RSS_LOAD_SECONDS}s of reads, as npm run start:api starts it`,
        value: memory.loaded,
        unit: 'MB',
        goal: '< 200',
        met: memory.loaded < 200,
      },
      'apiRssAfterLoadMb',
    );
    const defaults = await rss(context, false);
    add({ name: "api RSS idle, Node's default heap sizing", value: defaults.idle, unit: 'MB' });
    add({
      name: `api RSS after ${RSS_LOAD_SECONDS}s of reads, Node's default heap sizing`,
      value: defaults.loaded,
      unit: 'MB',
    });
    const peak = await worstCase(context);
    add({
      name: `api peak RSS, ${OPEN_CONNECTIONS} open connections + ${BIG_BODY_WAVES} x ${BIG_BODIES} concurrent 1 MB bodies (survived)`,
      value: peak,
      unit: 'MB',
    });
  }
  if (wanted('start to ready')) {
    const ready = await readyMs();
    add({
      name: 'api start to ready (/health/ready 200)',
      value: ready,
      unit: 'ms',
      goal: '< 3000',
      met: ready < 3000,
    });
  }

  printTable(
    [
      'comparison (median of per-round ratios)',
      'baseline req/s',
      'candidate req/s',
      'ratio',
      'spread',
      'floor',
      '',
      'server CPU µs/req',
    ],
    comparisons.map((c) => [
      c.name,
      `${fixed(median(c.baseline.rps))} (${c.baseline.label})`,
      `${fixed(median(c.candidate.rps))} (${c.candidate.label})`,
      fixed(c.ratio, 2),
      `${fixed(c.spread[0], 2)}–${fixed(c.spread[1], 2)}`,
      c.floor === undefined ? '' : `>= ${c.floor}${c.target ? ` (target ${c.target})` : ''}`,
      c.floor === undefined ? '' : c.ratio >= c.floor ? 'ok' : 'MISSED',
      `${fixed(median(c.baseline.cpuUsPerRequest))} / ${fixed(median(c.candidate.cpuUsPerRequest))}`,
    ]),
  );
  console.log('');
  printTable(
    ['absolute', 'value', 'goal', ''],
    absolute.map((a) => [
      a.name,
      `${fixed(a.value)} ${a.unit}`,
      a.goal ?? '',
      a.goal ? (a.met ? 'ok' : 'MISSED') : '',
    ]),
  );

  if (args.includes('--json')) {
    const dir = join(ROOT, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'latest.json');
    const report = {
      node: process.version,
      cpu: cpus()[0]?.model,
      cpus: cpus().length,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      summary,
      comparisons,
      absolute,
    };
    writeFileSync(file, JSON.stringify(report, null, 2));
    console.log(`\nJSON written to ${file}`);
  }
}

interface Absolute {
  name: string;
  value: number;
  unit: string;
  goal?: string;
  met?: boolean;
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
