import * as fs from 'node:fs';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LogDirectoryError, prepareLogDirectory } from './log-files';

jest.mock('node:fs', () => {
  const actual = jest.requireActual<typeof import('node:fs')>('node:fs');
  return { ...actual, existsSync: jest.fn(actual.existsSync) };
});

const existsSync = fs.existsSync as jest.MockedFunction<typeof fs.existsSync>;
const realExistsSync = jest.requireActual<typeof import('node:fs')>('node:fs').existsSync;
/** The other process's mkdir lands after this one's existence check. */
const racedBy = (dir: string) => (path: fs.PathLike) => path !== dir && realExistsSync(path);

describe('prepareLogDirectory', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'rl-log-files-'));
  });
  afterEach(() => {
    existsSync.mockImplementation(realExistsSync);
    rmSync(root, { recursive: true, force: true });
  });

  it('creates the missing levels of the folder', () => {
    const dir = join(root, 'a', 'b', 'api');
    prepareLogDirectory(dir);
    expect(fs.statSync(dir).isDirectory()).toBe(true);
  });

  it('accepts a folder another replica created between the check and the mkdir', () => {
    const dir = join(root, 'api');
    fs.mkdirSync(dir);
    existsSync.mockImplementation(racedBy(dir));
    expect(() => prepareLogDirectory(dir)).not.toThrow();
  });

  it('still refuses a file where the folder should be', () => {
    const dir = join(root, 'api');
    writeFileSync(dir, '');
    existsSync.mockImplementation(racedBy(dir));
    expect(() => prepareLogDirectory(dir)).toThrow(LogDirectoryError);
    expect(() => prepareLogDirectory(dir)).toThrow(/cannot write to .*api \(EEXIST\)$/);
  });
});
