#!/usr/bin/env node
// Builds the dashboard's browser files into dist/dashboard: its API types generated from the API's
// schemas (scripts/generate-api-types.mjs), its TypeScript (src/dashboard, ES modules for the
// browser, own tsconfig) with the project's tsc, and its style sheets and icon (.css, .svg) copied.
// Plain ESM JavaScript, like the other build helpers here; exits non-zero when tsc fails.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'dashboard');
const out = join(root, 'dist', 'dashboard');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

// The API types the dashboard compiles against come from the API's schemas.
const types = spawnSync(process.execPath, [join(root, 'scripts', 'generate-api-types.mjs')], {
  stdio: 'inherit',
});
if (types.status !== 0) {
  console.error('[dashboard] generating the API types failed');
  process.exit(types.status ?? 1);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const run = spawnSync(process.execPath, [tsc, '-p', src], { stdio: 'inherit' });
if (run.status !== 0) {
  console.error('[dashboard] tsc failed');
  process.exit(run.status ?? 1);
}
for (const file of readdirSync(src).filter((f) => f.endsWith('.css') || f.endsWith('.svg'))) {
  copyFileSync(join(src, file), join(out, file));
}
console.log(`[dashboard] built into ${out}`);
