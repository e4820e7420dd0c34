/** Test data the pipeline tests generate: import folders of CSV / JSON Lines rows. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ImportFolder {
  files: string[];
  rows: number;
  validRows: number;
  invalidRows: number;
  /** A valid row with a word no other row has, and where it is (`file:line`). */
  known: { id: string; word: string; file: string; line: number };
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];

const csvCell = (v: string): string => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/**
 * Writes `files` files (even: CSV, odd: JSON Lines) of `rowsPerFile` rows into `dir`; every
 * `invalidEvery`-th row is invalid in one of several ways (rotating). Ids start with `prefix`.
 */
export function writeImportFolder(
  dir: string,
  opts: { prefix: string; files?: number; rowsPerFile?: number; invalidEvery?: number },
): ImportFolder {
  const nFiles = opts.files ?? 20;
  const perFile = opts.rowsPerFile ?? 250;
  const every = opts.invalidEvery ?? 10;
  mkdirSync(dir, { recursive: true });
  const out: ImportFolder = { files: [], rows: 0, validRows: 0, invalidRows: 0, known: null! };
  const word = `zephyr${opts.prefix.replace(/[^a-z0-9]/gi, '').toLowerCase()}`;
  const knownFile = Math.min(7, nFiles - 1);
  let knownRow = Math.min(42, perFile - 1);
  while (knownRow % every === every - 1) knownRow--;
  for (let f = 0; f < nFiles; f++) {
    const csv = f % 2 === 0;
    const name = `part-${String(f).padStart(2, '0')}.${csv ? 'csv' : 'jsonl'}`;
    const lines: string[] = csv ? ['id,title,body,category,tags,amount,updatedAt'] : [];
    for (let r = 0; r < perFile; r++) {
      const id = `${opts.prefix}-${f}-${r}`;
      const isKnown = f === knownFile && r === knownRow;
      const row: Record<string, string | number> = {
        id,
        title: isKnown ? `The ${word} record` : `Record ${r} of ${WORDS[f % WORDS.length]}`,
        body: `Body text for row ${r}, file ${f}. Mentions ${WORDS[(f + r) % WORDS.length]}.`,
        category: WORDS[r % 3],
        tags: `${WORDS[r % 5]};${WORDS[(r + 1) % 5]}`,
        amount: (r * 1.25).toFixed(2),
        updatedAt: '2026-11-22',
      };
      if (isKnown) out.known = { id, word, file: name, line: csv ? r + 2 : r + 1 };
      const invalid = r % every === every - 1;
      let line: string;
      if (invalid) {
        const kind = (r + f) % 4;
        if (kind === 0) row.title = '';
        else if (kind === 1) row.amount = 'not-a-number';
        else if (kind === 2) row.id = 'bad id!';
        else row.updatedAt = 'yesterday';
      }
      if (csv) {
        line = ['id', 'title', 'body', 'category', 'tags', 'amount', 'updatedAt']
          .map((k) => csvCell(String(row[k] ?? '')))
          .join(',');
        if (invalid && (r + f) % 8 === 3) line += ',extra-field'; // wrong field count
      } else {
        line = JSON.stringify({ ...row, amount: row.amount === 'not-a-number' ? 'x' : Number(row.amount) });
        if (invalid && (r + f) % 8 === 3) line = line.slice(0, -3); // broken JSON
      }
      lines.push(line);
      out.rows++;
      if (invalid) out.invalidRows++;
      else out.validRows++;
    }
    writeFileSync(join(dir, name), lines.join('\n') + '\n');
    out.files.push(name);
  }
  return out;
}
