import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as ts from 'typescript';

/**
 * The dependency rules of the monorepo, read from the import statements of every source file:
 * apps → feature libs → foundation libs, never the other way, no lib importing an app, and no
 * cycle between libs.
 */
const ROOT = join(__dirname, '..', '..');
const FOUNDATION = [
  'tracing',
  'config',
  'logging',
  'exceptions',
  'lifecycle',
  'database',
  'redis',
  'queue',
];
const FEATURE = ['generations', 'security', 'health', 'metrics', 'webhooks'];

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** lib (or app) → the libs and apps its sources import. */
function graph(): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const [kind, base] of [
    ['lib', 'libs'],
    ['app', 'apps'],
  ] as const) {
    for (const name of readdirSync(join(ROOT, base))) {
      const from = `${kind}:${name}`;
      const targets = new Set<string>();
      for (const file of sources(join(ROOT, base, name, 'src'))) {
        const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
        for (const { fileName } of importedFiles) {
          const lib = /^@app\/([a-z-]+)/.exec(fileName)?.[1];
          if (lib && lib !== name) targets.add(`lib:${lib}`);
          if (fileName.startsWith('.')) {
            const resolved = relative(ROOT, join(file, '..', fileName));
            const [top, owner] = resolved.split('/');
            if ((top === 'apps' || top === 'libs') && owner !== name)
              targets.add(`${top === 'apps' ? 'app' : 'lib'}:${owner}`);
          }
        }
      }
      edges.set(from, targets);
    }
  }
  return edges;
}

describe('dependency direction', () => {
  const edges = graph();
  const libs = [...edges.keys()].filter((node) => node.startsWith('lib:'));

  it('knows every lib as foundation or feature', () => {
    expect(libs.map((lib) => lib.slice(4)).sort()).toEqual([...FOUNDATION, ...FEATURE].sort());
  });

  it('has no lib that imports an app', () => {
    for (const lib of libs)
      expect({
        lib,
        apps: [...(edges.get(lib) ?? [])].filter((t) => t.startsWith('app:')),
      }).toEqual({ lib, apps: [] });
  });

  it('has no foundation lib that imports a feature lib', () => {
    for (const name of FOUNDATION) {
      const features = [...(edges.get(`lib:${name}`) ?? [])].filter((target) =>
        FEATURE.includes(target.slice(4)),
      );
      expect({ lib: name, features }).toEqual({ lib: name, features: [] });
    }
  });

  it('has no cycle between libs', () => {
    const visiting = new Set<string>();
    const done = new Set<string>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (done.has(node)) return;
      if (visiting.has(node)) {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' → '));
        return;
      }
      visiting.add(node);
      for (const next of edges.get(node) ?? [])
        if (next.startsWith('lib:')) visit(next, [...path, node]);
      visiting.delete(node);
      done.add(node);
    };
    for (const lib of libs) visit(lib, []);
    expect(cycles).toEqual([]);
  });
});
