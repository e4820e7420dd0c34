import { parseCsv } from '../../activities/import/csv';
import { normalizeRow, readRows, type ImportRow } from '../../activities/import/rows';

const all = (text: string) => [...parseCsv(text)];

describe('parseCsv', () => {
  it('reads quoted fields with commas, escaped quotes and line breaks, keeping start lines', () => {
    expect(all('a,b,c\n1,"x, y","say ""hi"""\n2,"multi\nline",z\r\n\n3,,\n')).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['1', 'x, y', 'say "hi"'] },
      { line: 3, fields: ['2', 'multi\nline', 'z'] },
      { line: 6, fields: ['3', '', ''] },
    ]);
  });

  it('handles a BOM, CR-only line ends and a last line without a newline', () => {
    expect(all('\ufeffid,t\r1,a\r2,b')).toEqual([
      { line: 1, fields: ['id', 't'] },
      { line: 2, fields: ['1', 'a'] },
      { line: 3, fields: ['2', 'b'] },
    ]);
  });

  it('flags an unterminated quote and text after a closing quote', () => {
    expect(all('1,"ab"c,d\n')[0]).toEqual({
      line: 1,
      fields: ['1', 'abc', 'd'],
      error: 'text after a closing quote',
    });
    expect(all('1,"open\n2,x\n')[0]).toMatchObject({ line: 1, error: 'unterminated quoted field' });
  });
});

describe('readRows', () => {
  const outcomes = (content: string, format: 'csv' | 'jsonl') => [...readRows(content, format).rows];

  it('checks CSV rows against the row schema, with field-count and value errors', () => {
    const rows = outcomes('id,title,amount\nr1,First,1.5\nr2,,2\nr3,Third,abc\nr4,Fourth\n', 'csv');
    expect(rows[0]).toEqual({ line: 2, row: { id: 'r1', title: 'First', amount: 1.5 } });
    expect(rows[1]).toMatchObject({ line: 3, error: expect.stringMatching(/^title: /) });
    expect(rows[2]).toMatchObject({ line: 4, error: expect.stringMatching(/^amount: /) });
    expect(rows[3]).toEqual({ line: 5, error: 'has 2 fields, the header has 3' });
  });

  it('checks JSON Lines, reporting bad JSON and non-objects by line; blank lines are skipped', () => {
    const rows = outcomes(
      '{"id":1,"title":"a"}\n\n{"id":"x"\n[1]\n{"id":"y","title":"b","updatedAt":"2026-02-30T00:00:00Z"}',
      'jsonl',
    );
    expect(rows[0]).toEqual({ line: 1, row: { id: '1', title: 'a' } });
    expect(rows[1]).toMatchObject({ line: 3, error: expect.stringMatching(/^not valid JSON/) });
    expect(rows[2]).toEqual({ line: 4, error: 'not a JSON object' });
    expect(rows[3]).toMatchObject({ line: 5, error: expect.stringMatching(/^updatedAt: /) });
  });

  it('rejects a CSV header with a repeated or missing column as a whole', () => {
    expect(readRows('id,title,id\n', 'csv').fileError).toBe('CSV header repeats column "id"');
    expect(readRows('title\n', 'csv').fileError).toBe('CSV header has no "id" column');
  });
});

describe('normalizeRow', () => {
  it('gives the same hash for the same content from another line, and another for changed content', () => {
    const row: ImportRow = { id: 'k', title: ' A  title ', tags: ['x', 'X', ' y'] };
    const a = normalizeRow(row, 'f.csv:2');
    expect(a).toMatchObject({ key: 'k', title: 'A title', tags: ['x', 'y'], source: 'f.csv:2' });
    expect(normalizeRow(row, 'g.csv:9').hash).toBe(a.hash);
    expect(normalizeRow({ ...row, title: 'Other' }, 'f.csv:2').hash).not.toBe(a.hash);
  });
});
