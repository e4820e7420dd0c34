#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional dependencies that npm left out.
//
// Why: the npm registry reachable here does not serve other platforms' binaries (e.g.
// @swc/core-darwin-arm64 answers 404), so `npm install` writes a package-lock.json without them,
// and `npm ci` then refuses the lockfile as out of sync ("Missing: … from lock file"). An entry
// with the version its parent pins is all `npm ci` needs; on this platform the package is
// optional and skipped, elsewhere it is fetched by that version.
//
// Run after every lockfile change: `npm run lockfile:complete` (default file: package-lock.json).
import { readFileSync, writeFileSync } from 'node:fs';
const file = process.argv[2] ?? 'package-lock.json';
const lock = JSON.parse(readFileSync(file, 'utf8'));
let added = 0;
for (const [path, pkg] of Object.entries(lock.packages)) {
  for (const [name, spec] of Object.entries(pkg.optionalDependencies ?? {})) {
    const base = path ? `${path}/node_modules/${name}` : `node_modules/${name}`;
    if (lock.packages[base] || lock.packages[`node_modules/${name}`]) continue;
    lock.packages[`node_modules/${name}`] = { version: spec, optional: true };
    added++;
  }
}
writeFileSync(file, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} entries`);
