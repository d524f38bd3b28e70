import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { RunOptions, RunSummary, Transform, runCodemod } from '../src/runner';

export const ROOT = join(__dirname, '../../..');
export const FIXTURES = join(__dirname, 'fixtures');

const created: string[] = [];

/** A copy of a fixture tree in a fresh temp folder (removed by `removeCopies`). */
export function copyFixture(name: string): string {
  const target = mkdtempSync(join(tmpdir(), `rl-codemod-${name}-`));
  created.push(target);
  cpSync(join(FIXTURES, name), target, { recursive: true });
  return target;
}

export function removeCopies(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Every file under `dir` with its content, to prove a run wrote nothing. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (current: string): void => {
    for (const entry of readdirSync(current)) {
      const path = join(current, entry);
      if (statSync(path).isDirectory()) walk(path);
      else files[relative(dir, path)] = readFileSync(path, 'latin1');
    }
  };
  walk(dir);
  return files;
}

/** Runs a codemod in-process and returns its summary with what it printed. */
export function run(
  transform: Transform,
  cwd: string,
  options: Partial<RunOptions> = {},
): RunSummary & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const summary = runCodemod('codemod', transform, {
    paths: ['.'],
    dryRun: false,
    check: false,
    cwd,
    out: (line) => stdout.push(line),
    err: (line) => stderr.push(line),
    ...options,
  });
  return { ...summary, stdout, stderr };
}

/** Runs `npm run codemod:<name> -- args` the way CI does, in `cwd`. */
export function runCli(
  name: 'prints' | 'i18n',
  args: string[],
  cwd: string,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [
      require.resolve('ts-node/dist/bin'),
      '--transpile-only',
      join(ROOT, `tools/codemods/${name}.ts`),
      ...args,
    ],
    { cwd, encoding: 'utf8', timeout: 60_000 },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
