import { readFileSync } from 'node:fs';
import Redis from 'ioredis';
import { createApiKey } from '../support/api-keys';
import { RunningProcess, sleep } from '../support/processes';
import { testEnv } from '../support/test-env';

import { RELIABILITY_DATABASE_URL, RELIABILITY_REDIS_URL } from './reliability-env';

export { RELIABILITY_DATABASE_URL, RELIABILITY_REDIS_URL };

export function reliabilityEnv(
  overrides: Record<string, string | undefined> = {},
): NodeJS.ProcessEnv {
  return testEnv({
    DATABASE_URL: RELIABILITY_DATABASE_URL,
    REDIS_URL: RELIABILITY_REDIS_URL,
    ENVIRONMENT: 'production',
    SHUTDOWN_DRAIN_DELAY_MS: '0',
    RATE_LIMIT_PER_MINUTE: '1000000',
    // these suites load one key hard: per-key limits on, but high enough never to refuse
    KEY_RATE_LIMIT_PER_MINUTE: '1000000',
    GENERATIONS_PER_MINUTE: '1000000',
    GENERATIONS_MAX_ACTIVE: '1000000',
    LOCAL_PROVIDER_DELAY_MS: '0',
    ...overrides,
  });
}

export async function flushRedis(url: string): Promise<void> {
  const redis = new Redis(url);
  await redis.flushdb();
  await redis.quit();
}

export function createKey(env: NodeJS.ProcessEnv, user = 'reliability'): Promise<string> {
  return createApiKey(env, '--user', user);
}

export interface Outcome {
  at: number;
  target: string;
  status: number;
  /** A connection-level failure (refused, reset) before any answer: a client may retry it. */
  networkError?: string;
  retried?: boolean;
  contentType?: string | null;
  body?: string;
}

/**
 * A steady load of `concurrency` virtual users, each sending one request after the other until
 * stopped; every outcome is kept. `request` picks the target and sends; it may retry.
 */
export class Load {
  readonly outcomes: Outcome[] = [];
  private running = true;
  private readonly users: Promise<void>[] = [];

  constructor(concurrency: number, request: (user: number) => Promise<Outcome>, pauseMs = 0) {
    for (let user = 0; user < concurrency; user += 1) {
      this.users.push(
        (async () => {
          while (this.running) {
            this.outcomes.push(await request(user));
            if (pauseMs > 0) await sleep(pauseMs);
          }
        })(),
      );
    }
  }

  async stop(): Promise<Outcome[]> {
    this.running = false;
    await Promise.all(this.users);
    return this.outcomes;
  }

  /** Outcomes recorded from `since` on. */
  after(since: number): Outcome[] {
    return this.outcomes.filter((outcome) => outcome.at >= since);
  }
}

/** One GET (or other) through fetch, as an outcome; never throws. */
export async function send(
  url: string,
  init: RequestInit = {},
  keepBody = false,
): Promise<Outcome> {
  const at = Date.now();
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15000) });
    const body = await response.text();
    return {
      at,
      target: url,
      status: response.status,
      contentType: response.headers.get('content-type'),
      body: keepBody || response.status >= 400 ? body : undefined,
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    return { at, target: url, status: 0, networkError: cause?.code ?? String(error) };
  }
}

/** POST /api/v1/generations as the key's owner; the outcome keeps its body. */
export function postGeneration(
  apiUrl: string,
  key: string,
  prompt = 'p',
  headers: Record<string, string> = {},
): Promise<Outcome> {
  return send(
    `${apiUrl}/api/v1/generations`,
    {
      method: 'POST',
      headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ prompt }),
    },
    true,
  );
}

/** The id of the generation a POST created. */
export function idOf(outcome: Outcome): string {
  return (JSON.parse(outcome.body as string) as { id: string }).id;
}

/** Resident set size in MB of a running process. */
export function rssMb(proc: RunningProcess): number {
  const status = readFileSync(`/proc/${proc.proc.pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) / 1024;
}

export function isAlive(proc: RunningProcess): boolean {
  return proc.proc.exitCode === null && proc.proc.signalCode === null;
}

export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

export function summary(outcomes: Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.networkError ? `network:${outcome.networkError}` : String(outcome.status);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
