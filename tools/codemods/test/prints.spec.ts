import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { printsTransform } from '../src/prints';
import { ROOT, copyFixture, removeCopies, run, runCli, snapshot } from './codemod-helpers';

const transform = printsTransform({ importModule: '@app/logging' });

/** Adds what every real tree has and the codemod must leave alone: dependencies and build output. */
function addIgnoredFolders(dir: string): void {
  for (const folder of ['node_modules/some-lib', 'dist', 'coverage']) {
    mkdirSync(join(dir, folder), { recursive: true });
    writeFileSync(join(dir, folder, 'index.js'), "console.log('not ours');\n");
  }
}

/** `tsc --noEmit` over the converted tree, with `@app/logging` resolved to the real lib (and its own imports). */
function typeCheck(dir: string): string {
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      // the project's own compiler settings and `@app/*` paths, plus its node_modules
      extends: join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        typeRoots: [join(ROOT, 'node_modules/@types')],
        types: ['node'],
        paths: {
          '@app/*': ['libs/*/src'],
          '*': ['node_modules/*', 'node_modules/@types/*'],
        },
      },
      include: ['src/**/*.ts'],
    }),
  );
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', dir], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    return '';
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? error);
  }
}

const read = (dir: string, file: string): string => readFileSync(join(dir, file), 'utf8');
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

afterAll(removeCopies);

describe('codemod:prints', () => {
  it('lists every console call with its place and replacement in a dry run, and writes nothing', () => {
    const dir = copyFixture('prints');
    addIgnoredFolders(dir);
    const before = snapshot(dir);

    const result = run(transform, dir, { dryRun: true });

    expect(snapshot(dir)).toEqual(before);
    expect(result.stdout).toEqual(
      expect.arrayContaining([
        "src/plain.ts:5:3  console.log('Processing order', orderId, quantity)  ->  logger.info({ orderId, quantity }, 'Processing order')",
        "src/plain.ts:7:3  console['warn']('Retry requested', options.retry)  ->  logger.warn({ retry: options.retry }, 'Retry requested')",
        "src/user.service.ts:11:5  console.log('Finding user', id)  ->  this.logger.info({ id }, 'Finding user')",
        "src/legacy.js:5:3  console.log('Working in', path.sep)  ->  logger.info({ sep: path.sep }, 'Working in')",
      ]),
    );
    expect(result.stdout.join('\n')).not.toMatch(/node_modules|dist\/|coverage|generated/);
    expect(result.stdout.at(-1)).toBe('codemod: 8 files scanned, 19 findings, 6 would change');
    expect(result.stderr).toEqual([
      expect.stringMatching(/^codemod: broken\/broken\.ts:\d+:\d+: cannot be parsed .*; skipped$/),
    ]);
  });

  it('rewrites the calls into the logger; the result type-checks and a second run changes nothing', () => {
    const dir = copyFixture('prints');
    addIgnoredFolders(dir);
    const brokenBefore = read(dir, 'broken/broken.ts');

    const first = run(transform, dir);
    expect(first.changed).toBe(6);
    expect(first.exitCode).toBe(2); // the unparsable file is reported, the rest still converted

    const plain = read(dir, 'src/plain.ts');
    expect(plain).toContain("console.log('in a comment') stays");
    expect(plain).toContain('\'console.log("in a string") stays as it is\'');
    expect(plain).toContain("logger.info({ orderId, quantity }, 'Processing order');");
    expect(plain).toContain('logger.info(`Order ${orderId} accepted`);');
    expect(plain).toContain('logger.debug({ orderId, quantity });');
    expect(plain).toContain("logger.error({ err: error }, 'Error parsing banner');");
    expect(plain).toContain("logger.error({ err: new Error('Order rejected') });");
    expect(plain).toContain('.catch((error: unknown) => logger.error({ err: error }));');
    expect(plain).toContain('logger.info({ length: items.length });');
    expect(occurrences(plain, "import { getLogger } from '@app/logging';")).toBe(1);
    expect(occurrences(plain, "const logger = getLogger('Plain');")).toBe(1);

    // the class's injected logger is used; no module logger is added
    const service = read(dir, 'src/user.service.ts');
    expect(service).toContain("this.logger.info({ id }, 'Finding user');");
    expect(service).toContain("this.logger.error('Error finding user: empty id');");
    expect(service).toContain("this.logger.warn({ id, err: cause }, 'Removing user');");
    expect(service).not.toContain('getLogger');

    // an existing import from the module gains getLogger; a parameter named `logger` is not shadowed
    const mixed = read(dir, 'src/mixed.ts');
    expect(mixed).toContain("import { setLogContext, getLogger } from '@app/logging';");
    expect(mixed).toContain("const moduleLogger = getLogger('ReportJob');");
    expect(mixed).toContain("moduleLogger.info({ name: logger.name }, 'Scheduling');");
    expect(mixed).toContain("moduleLogger.info('describe called');");

    // an existing module-level logger is reused
    const billing = read(dir, 'src/existing-logger.ts');
    expect(billing).toContain("log.info({ amount }, 'Charged');");
    expect(occurrences(billing, 'getLogger(')).toBe(1);

    const destructured = read(dir, 'src/destructured.ts');
    expect(destructured).not.toContain('console');
    expect(destructured).toContain("logger.info({ channel }, 'Notifying');");
    expect(destructured).toContain(
      "logger.error({ err: new Error('Error notifying: no channel') });",
    );

    const legacy = read(dir, 'src/legacy.js');
    expect(legacy).toContain("const { getLogger } = require('@app/logging');");
    expect(legacy.indexOf("'use strict'")).toBe(0);

    expect(read(dir, 'src/schema.generated.ts')).toContain("console.log('generated code");
    expect(read(dir, 'node_modules/some-lib/index.js')).toContain('console.log');
    expect(read(dir, 'broken/broken.ts')).toBe(brokenBefore);

    expect(typeCheck(dir)).toBe('');

    const before = snapshot(dir);
    const second = run(transform, dir);
    expect(second.findings).toBe(0);
    expect(second.changed).toBe(0);
    expect(snapshot(dir)).toEqual(before);
  });

  it('--check exits 1 when calls are left, 0 when none are; a wrong path is reported and the run goes on', () => {
    const dir = copyFixture('prints');
    const dirty = runCli('prints', ['src', '--check'], dir);
    expect(dirty.status).toBe(1);
    expect(dirty.stdout).toMatch(/codemod:prints: 7 files scanned, 19 findings, 6 would change/);

    expect(runCli('prints', ['src'], dir).status).toBe(0);
    const clean = runCli('prints', ['src', '--check'], dir);
    expect(clean.status).toBe(0);
    expect(clean.stdout).toContain('codemod:prints: 7 files scanned, 0 findings, 0 would change');

    const wrong = runCli('prints', ['no-such-folder', 'src', '--check'], dir);
    expect(wrong.stderr).toContain('codemod:prints: no-such-folder: no such file or directory');
    expect(wrong.stdout).toContain('7 files scanned');
    expect(wrong.status).toBe(2);
  });

  it('takes the logger module from --import', () => {
    const dir = copyFixture('prints');
    expect(runCli('prints', ['src/plain.ts', '--import', '../lib/log'], dir).status).toBe(0);
    expect(read(dir, 'src/plain.ts')).toContain("import { getLogger } from '../lib/log';");
  });

  it('is clean over the project itself', () => {
    const result = run(transform, ROOT, { paths: ['apps', 'libs'], check: true });
    expect(result.filesScanned).toBeGreaterThan(50);
    expect(result.findings).toBe(0);
    expect(result.exitCode).toBe(0);
  });
});
