/**
 * The import index shared by processes: two Node processes upserting into one SQLite file at the
 * same time both succeed (BEGIN IMMEDIATE transactions, a busy timeout, WAL), and every row of
 * both is there.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { transformSync } from '@swc/core';
import { ImportIndex } from '../../activities/import/index-db';
import { uniqueId } from '../helpers';

const ROOT = resolve(__dirname, '..', '..');

/** index-db.ts compiled to CommonJS under test/.tmp, so a plain `node` child can load it. */
function compiledIndexModule(dir: string): string {
  const src = readFileSync(join(ROOT, 'activities', 'import', 'index-db.ts'), 'utf8');
  const { code } = transformSync(src, {
    filename: 'index-db.ts',
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'commonjs' },
  });
  const file = join(dir, 'index-db.js');
  writeFileSync(file, code);
  return file;
}

/** Opens the index, says "ready", and on "go" upserts `transactions` × `perTransaction` rows. */
const CHILD = `
const { ImportIndex } = require(process.argv[1]);
const [dbPath, prefix, transactions, perTransaction] = process.argv.slice(2);
const index = new ImportIndex(dbPath);
process.stdout.write('ready\\n');
process.stdin.once('data', () => {
  let inserted = 0;
  for (let t = 0; t < Number(transactions); t++) {
    const rows = Array.from({ length: Number(perTransaction) }, (_, i) => ({
      key: prefix + '-' + t + '-' + i,
      title: 'Row ' + i + ' of ' + prefix,
      body: 'written by ' + prefix + ' in transaction ' + t,
      category: null,
      tags: ['concurrent'],
      amount: i,
      updatedAt: null,
      source: prefix + '.csv:' + (t * 1000 + i),
      hash: prefix + t + '-' + i,
    }));
    inserted += index.upsert(rows, prefix).inserted;
  }
  index.close();
  process.stdout.write('inserted ' + inserted + '\\n');
  process.exit(0);
});
`;

interface Child {
  ready: Promise<void>;
  exit: Promise<{ code: number | null; out: string; err: string }>;
  go(): void;
}

function startChild(args: string[]): Child {
  const child = spawn(process.execPath, ['-e', CHILD, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let markReady: () => void;
  const ready = new Promise<void>((res) => (markReady = res));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) markReady();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<{ code: number | null; out: string; err: string }>((res) => {
    child.on('exit', (code) => {
      markReady(); // never leave the test waiting on a child that died early
      res({ code, out, err });
    });
  });
  return { ready, exit, go: () => child.stdin.write('go\n') };
}

describe('ImportIndex across processes', () => {
  it('two processes importing into one index at once both succeed, and the row count is the sum', async () => {
    const dir = resolve(__dirname, '..', '.tmp', 'index-concurrency', uniqueId('run'));
    mkdirSync(dir, { recursive: true });
    const module = compiledIndexModule(dir);
    const dbPath = join(dir, 'index.sqlite');
    const transactions = 150;
    const perTransaction = 20;
    const children = ['alpha', 'bravo'].map((prefix) =>
      startChild([module, dbPath, prefix, String(transactions), String(perTransaction)]),
    );
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const results = await Promise.all(children.map((c) => c.exit));
    for (const r of results) {
      expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
      expect(r.out).toContain(`inserted ${transactions * perTransaction}`);
    }
    const index = new ImportIndex(dbPath);
    try {
      expect(index.count()).toBe(2 * transactions * perTransaction);
      expect(index.count('alpha')).toBe(transactions * perTransaction);
      expect(index.count('bravo')).toBe(transactions * perTransaction);
      index.checkIntegrity();
    } finally {
      index.close();
    }
  });
});
