import autocannon from 'autocannon';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const ROOT = join(__dirname, '..');
export const API_MAIN = join(ROOT, 'dist/apps/api/apps/api/src/main.js');
export const WORKER_MAIN = join(ROOT, 'dist/apps/worker/apps/worker/src/main.js');
export const CLI_MAIN = join(ROOT, 'dist/apps/api/apps/api/src/cli/main.js');
const BASELINES = join(__dirname, 'baselines');

export const BENCH_DATABASE_URL = 'postgres://postgres:postgres@127.0.0.1:5432/rocket_launch_bench';

/** The production stack as an operator runs it: files, JSON, Redis limits, metrics, helmet. */
export const PRODUCTION_ENV: Record<string, string> = {
  ENVIRONMENT: 'production',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
  LOG_TO_FILES: 'true',
  METRICS_ENABLED: 'true',
  RATE_LIMIT_PER_MINUTE: '100000000',
  RATE_LIMIT_EXEMPT_IPS: '',
  // per-key limits on, high enough never to refuse; the quotas checked on every POST
  KEY_RATE_LIMIT_PER_MINUTE: '100000000',
  GENERATIONS_PER_MINUTE: '100000000',
  GENERATIONS_MAX_ACTIVE: '1000000',
  SHUTDOWN_DRAIN_DELAY_MS: '0',
  DATABASE_URL: BENCH_DATABASE_URL,
  REDIS_URL: 'redis://127.0.0.1:6379/12',
};

export interface Started {
  proc: ChildProcess;
  url: string;
  /** Milliseconds from spawn to `/health` answering 200. */
  listeningMs: number;
  spawnedAt: number;
}

/**
 * What `npm run bench` starts: the api and the worker from the build, and the baselines it builds
 * itself from `bench/baselines` (bare NestJS, on Express and on Fastify; NestJS by its packages'
 * documentation defaults; the plain `node:http` + `pg` cost floor).
 */
export type Kind = 'api' | 'worker' | 'bare-nest' | 'docs-default' | 'floor';

/**
 * The heap flags `npm run start:api`, `start:worker` and `npm start` give Node (package.json's
 * `config.heapFlags`), so that the bench measures the processes exactly as those scripts start them.
 */
export function heapFlags(): string[] {
  const { config } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    config: { heapFlags: string };
  };
  return config.heapFlags.split(/\s+/);
}

export interface StartOptions {
  env?: Record<string, string>;
  /** false: Node's default heap sizing instead of the start script's flags. */
  heapFlags?: boolean;
}

/** A port nothing listens on right now (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts one process from the build on a free port and waits until its `/health` answers (so a
 * process that logs nothing, LOG_LEVEL=silent, is measured the same way).
 */
export async function start(kind: Kind, options: StartOptions = {}): Promise<Started> {
  const logDir = mkdtempSync(join(tmpdir(), 'rl-bench-'));
  const port = await freePort();
  const flags = options.heapFlags === false ? [] : heapFlags();
  const args =
    kind === 'api' || kind === 'worker'
      ? [...flags, kind === 'api' ? API_MAIN : WORKER_MAIN]
      : ['-r', 'ts-node/register/transpile-only', join(BASELINES, `${kind}.ts`)];
  const spawnedAt = performance.now();
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      ...PRODUCTION_ENV,
      LOG_DIR: logDir,
      ...(kind === 'worker' ? { WORKER_HEALTH_PORT: String(port) } : { PORT: String(port) }),
      ...options.env,
      // e.g. BENCH_NODE_OPTIONS=--cpu-prof to profile every process the bench starts
      ...(process.env.BENCH_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS } : {}),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  // its logs are not read: they go with it (a full run would leave ~1 GB in the temp dir)
  proc.once('exit', () => rmSync(logDir, { recursive: true, force: true }));
  for (;;) {
    if (proc.exitCode !== null)
      throw new Error(`${kind} exited with ${proc.exitCode} before answering`);
    const answered = await fetch(`${url}/health`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (answered) break;
    await sleep(5);
  }
  return { proc, url, listeningMs: performance.now() - spawnedAt, spawnedAt };
}

export async function stop(started: Started): Promise<void> {
  if (started.proc.exitCode !== null || started.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => started.proc.once('exit', resolve));
  started.proc.kill('SIGTERM');
  await exited;
}

export interface Load {
  rps: number;
  p99: number;
  /** Requests answered: with the server's CPU over the same load, its CPU per request. */
  requests: number;
}

/** Connections of every read load (and of the RSS measurement). */
export const CONNECTIONS = 50;

/** autocannon for `duration` seconds; any non-2xx answer fails the run (a bench of errors is no bench). */
export async function load(
  url: string,
  duration: number,
  headers: Record<string, string> = {},
  each?: () => { path: string; headers: Record<string, string> },
): Promise<Load> {
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration,
    pipelining: 1,
    headers,
    // `each`: every request asks for what it returns (its path and headers)
    ...(each ? { requests: [{ setupRequest: (request) => ({ ...request, ...each() }) }] } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99, requests: result.requests.total };
}

/**
 * CPU time a process (all its threads) has used, in ms, from /proc: utime + stime. Beside a
 * load's requests it gives the server's CPU per request — a figure that noise from other tenants of
 * the machine moves far less than throughput.
 */
export function cpuMs(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command name, which may contain spaces, start at field 3 (state)
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
}

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of a process, in MB (from /proc). */
export function rssMb(pid: number | undefined): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const CLI_ENV = {
  PATH: process.env.PATH,
  ...PRODUCTION_ENV,
  LOG_TO_FILES: 'false',
  LOG_LEVEL: 'warn',
  LOG_DIR: tmpdir(),
};

/** Runs the CLI (db:setup, apikey:create) against the bench database; returns its stdout. */
export function cli(args: string[]): string {
  return execFileSync(process.execPath, [CLI_MAIN, ...args], { env: CLI_ENV, encoding: 'utf8' });
}

/** A new API key of `user` (the CLI prints it last). */
export async function createKey(user: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [CLI_MAIN, 'apikey:create', '--user', user],
    { env: CLI_ENV, encoding: 'utf8' },
  );
  return stdout.trimEnd().split('\n').pop() ?? '';
}
