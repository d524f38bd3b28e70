#!/usr/bin/env node
// Runs an operator command from the build, building the api first when the build is missing or
// older than the sources, so `npm run db:setup` (and friends) work on a fresh clone.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'dist/apps/api/apps/api/src/cli/main.js');

function newestSource(dir) {
  let newest = 0;
  for (const item of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, item.name);
    if (item.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (item.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const stale =
  !existsSync(entry) ||
  Math.max(newestSource(join(root, 'apps')), newestSource(join(root, 'libs'))) >
    statSync(entry).mtimeMs;
if (stale) {
  execFileSync(join(root, 'node_modules/.bin/nest'), ['build', 'api'], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
const result = spawnSync(process.execPath, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(result.status ?? 1);
