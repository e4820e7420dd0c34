/**
 * What dataImport accepts as a row, how rows are read from CSV and JSON Lines files, and how a
 * valid row is normalized for the index.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ImportFormat } from '../../workflows/jobs/data-import-contracts';
import { parseCsv } from './csv';

const text = (max: number) => z.string().max(max);

/**
 * One record. `id` is the row key: importing a row whose id is already indexed updates it.
 * CSV cells arrive as strings (an empty cell is a missing value), so `amount` is coerced.
 * Fields not listed here are ignored.
 */
export const importRowSchema = z.object({
  id: z
    .union([z.string(), z.number().int().nonnegative()])
    .transform(String)
    .pipe(
      z
        .string()
        .trim()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'must be 1-128 letters, digits or . _ : - characters'),
    ),
  title: z.string().trim().min(1, 'must not be empty').max(500),
  body: text(20_000).optional(),
  category: text(100).optional(),
  /** A list, or one string separated by `,` or `;`. */
  tags: z.union([text(2000), z.array(text(100)).max(100)]).optional(),
  amount: z.coerce.number().optional(),
  updatedAt: z.union([z.iso.date(), z.iso.datetime({ offset: true })]).optional(),
});
export type ImportRow = z.infer<typeof importRowSchema>;

/** A row as stored in the index. */
export interface NormalizedRow {
  key: string;
  title: string;
  body: string | null;
  category: string | null;
  tags: string[];
  amount: number | null;
  updatedAt: string | null;
  /** `file:line` it came from. */
  source: string;
  /** Hash of the content fields (not of `source`), so re-importing the same row changes nothing. */
  hash: string;
}

const collapse = (s: string): string => s.replace(/\s+/g, ' ').trim();

export function normalizeRow(row: ImportRow, source: string): NormalizedRow {
  const tagList = row.tags === undefined ? [] : Array.isArray(row.tags) ? row.tags : row.tags.split(/[,;]/);
  const tags = [...new Set(tagList.map((t) => collapse(t).toLowerCase()).filter(Boolean))].sort();
  const body = row.body === undefined ? null : row.body.replace(/\r\n?/g, '\n').trim() || null;
  const category = row.category === undefined ? null : collapse(row.category).toLowerCase() || null;
  const amount = row.amount === undefined ? null : Math.round(row.amount * 100) / 100;
  const updatedAt = row.updatedAt === undefined ? null : new Date(row.updatedAt).toISOString();
  const content = { key: row.id, title: collapse(row.title), body, category, tags, amount, updatedAt };
  const hash = createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32);
  return { ...content, source, hash };
}

export type RowOutcome = { line: number; row: ImportRow } | { line: number; error: string };

export interface ParsedFile {
  /** Set when the file as a whole cannot be read as rows (e.g. a CSV header without `id`). */
  fileError: string | null;
  rows: Generator<RowOutcome>;
}

function issuesText(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'row'}: ${i.message}`).join('; ');
}

function check(line: number, value: unknown): RowOutcome {
  const parsed = importRowSchema.safeParse(value);
  return parsed.success ? { line, row: parsed.data } : { line, error: issuesText(parsed.error) };
}

export function formatOf(name: string): ImportFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.csv')) return 'csv';
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  return null;
}

/** Reads `content` as rows of `format`, each checked against {@link importRowSchema}. */
export function readRows(content: string, format: ImportFormat): ParsedFile {
  if (format === 'jsonl') return { fileError: null, rows: jsonlRows(content) };
  const records = parseCsv(content);
  const first = records.next();
  if (first.done) return { fileError: null, rows: (function* () {})() };
  const header = first.value.fields.map((h) => h.trim());
  if (first.value.error)
    return { fileError: `bad CSV header: ${first.value.error}`, rows: (function* () {})() };
  const dup = header.find((h, i) => h !== '' && header.indexOf(h) !== i);
  if (dup) return { fileError: `CSV header repeats column "${dup}"`, rows: (function* () {})() };
  for (const required of ['id', 'title']) {
    if (!header.includes(required)) {
      return { fileError: `CSV header has no "${required}" column`, rows: (function* () {})() };
    }
  }
  function* rows(): Generator<RowOutcome> {
    for (const rec of records) {
      if (rec.error) {
        yield { line: rec.line, error: `malformed CSV: ${rec.error}` };
      } else if (rec.fields.length !== header.length) {
        yield {
          line: rec.line,
          error: `has ${rec.fields.length} fields, the header has ${header.length}`,
        };
      } else {
        const obj: Record<string, string> = {};
        header.forEach((h, i) => {
          if (h !== '' && rec.fields[i] !== '') obj[h] = rec.fields[i];
        });
        yield check(rec.line, obj);
      }
    }
  }
  return { fileError: null, rows: rows() };
}

function* jsonlRows(content: string): Generator<RowOutcome> {
  const start = content.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 0;
  let pos = start;
  while (pos <= content.length) {
    const nl = content.indexOf('\n', pos);
    const end = nl < 0 ? content.length : nl;
    const raw = content.slice(pos, end).trim();
    line++;
    pos = end + 1;
    if (raw === '') {
      if (nl < 0) break;
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      yield { line, error: `not valid JSON (${(err as Error).message})` };
      continue;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      yield { line, error: 'not a JSON object' };
      continue;
    }
    yield check(line, value);
  }
}
