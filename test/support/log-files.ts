import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from './processes';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** Every line of one log file, each parsed as JSON (a line that is not JSON fails the test). */
export function readLog(dir: string, service: string, channel: string): LogLine[] {
  const path = join(dir, service, `${channel}.log`);
  if (!existsSync(path)) return [];
  return parseJsonLines(readFileSync(path, 'utf8'), path);
}

export function parseJsonLines(text: string, origin = 'log'): LogLine[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, index) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`${origin}:${index + 1} is not one JSON object: ${line.slice(0, 300)}`);
      }
    });
}

/** Every file of a service's log folder, rotated copies included. */
export function logFiles(dir: string, service: string): string[] {
  const folder = join(dir, service);
  return existsSync(folder) ? readdirSync(folder).filter((name) => !name.startsWith('.')) : [];
}

/** Waits until the file holds lines matching `match` (writes are asynchronous). */
export async function waitForLog(
  dir: string,
  service: string,
  channel: string,
  match: (line: LogLine) => boolean,
  { timeoutMs = 10000, count = 1 }: { timeoutMs?: number; count?: number } = {},
): Promise<LogLine[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = readLog(dir, service, channel).filter(match);
    if (found.length >= count) return found;
    if (Date.now() > deadline) {
      throw new Error(`no matching line in ${service}/${channel}.log within ${timeoutMs} ms`);
    }
    await sleep(50);
  }
}
