import { ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_MAIN, ROOT, WORKER_MAIN } from './processes-paths';

export { API_MAIN, CLI_MAIN, ROOT, WORKER_MAIN } from './processes-paths';

export interface RunningProcess {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** JSON lines the process printed on stdout (LOG_FORMAT=json). */
  lines: () => Array<Record<string, unknown>>;
  waitForLine: (
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ) => Promise<Record<string, unknown>>;
  waitForExit: (timeoutMs?: number) => Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const proc of running) proc.kill('SIGKILL');
});

function parseLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

export function startNode(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): RunningProcess {
  const proc = spawn(process.execPath, [...nodeArgs, script, ...args], {
    env,
    cwd: ROOT,
    stdio: 'pipe',
  });
  running.add(proc);
  let out = '';
  let err = '';
  proc.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  proc.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      running.delete(proc);
      resolve(code);
    }),
  );

  const waitForExit = async (timeoutMs = 20000): Promise<number | null> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`process did not exit within ${timeoutMs} ms\n${out}\n${err}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  };

  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    lines: () => parseLines(out),
    waitForExit,
    waitForLine: async (match, timeoutMs = 20000) => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = parseLines(out).find(match);
        if (found) return found;
        if (proc.exitCode !== null) break;
        await sleep(50);
      }
      throw new Error(`no matching line within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`);
    },
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return waitForExit();
    },
  };
}

/** The Node flags `npm start`, `start:api` and `start:worker` run the apps with (package.json). */
export const START_SCRIPT_FLAGS: string[] = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { config: { heapFlags: string } }
).config.heapFlags.split(/\s+/);

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Starts the built api and waits until it listens; `url` is where it answers. `nodeArgs`: flags
 * for Node (the start scripts' heap limits, `START_SCRIPT_FLAGS`).
 */
export async function startApi(
  env: NodeJS.ProcessEnv,
  nodeArgs: string[] = [],
): Promise<RunningProcess & { url: string }> {
  const api = startNode(API_MAIN, [], env, nodeArgs);
  const line = await api.waitForLine(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('api listening'),
  );
  return { ...api, url: String(line.url) };
}

export async function startWorker(env: NodeJS.ProcessEnv): Promise<RunningProcess> {
  const worker = startNode(WORKER_MAIN, [], env);
  await worker.waitForLine((l) => typeof l.msg === 'string' && l.msg.startsWith('worker started'));
  return worker;
}

/** Runs a built entry point to its end and returns its exit code and output. */
export async function runToExit(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 30000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = startNode(script, args, env);
  const code = await run.waitForExit(timeoutMs);
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

/** A stack frame as Node prints it: nothing a person reads at start-up should contain one. */
export const STACK_FRAME = /\n\s+at .+(\(|:\d+:\d+)/;

const TS_NODE_ARGS = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

/** Starts a test entry point (TypeScript, run through ts-node) as a real process. */
export function startTs(script: string, env: NodeJS.ProcessEnv): RunningProcess {
  return startNode(
    join(ROOT, script),
    [],
    {
      ...env,
      TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
    },
    TS_NODE_ARGS,
  );
}

/** The api with test-only probe routes (test/support/apps). */
export async function startProbeApi(
  env: NodeJS.ProcessEnv,
): Promise<RunningProcess & { url: string }> {
  const api = startTs('test/support/apps/test-api.main.ts', env);
  const line = await api.waitForLine(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('api listening'),
    60000,
  );
  return { ...api, url: String(line.url) };
}

/** The worker with the test-only probe queue. */
export async function startProbeWorker(env: NodeJS.ProcessEnv): Promise<RunningProcess> {
  const worker = startTs('test/support/apps/test-worker.main.ts', env);
  await worker.waitForLine(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('worker started'),
    60000,
  );
  return worker;
}

/** The worker's probe server address, from its start-up line. */
export function workerHealthUrl(worker: RunningProcess): string {
  const line = worker
    .lines()
    .find((l) => typeof l.msg === 'string' && l.msg.startsWith('worker health server listening'));
  return String(line?.url);
}
