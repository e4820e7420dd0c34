/**
 * A small RFC 4180 CSV reader: quoted fields with `""` escapes, commas and line breaks inside
 * quotes, LF / CRLF / CR line ends, a leading BOM. Each record carries the line it starts on, so
 * row errors can name `file:line`. Blank lines are skipped.
 */
export interface CsvRecord {
  /** 1-based line the record starts on. */
  line: number;
  fields: string[];
  /** Set for a malformed record (unterminated quote, text after a closing quote). */
  error?: string;
}

const isEnd = (c: number): boolean => c === 10 || c === 13; // \n \r

export function* parseCsv(text: string): Generator<CsvRecord> {
  const n = text.length;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let error: string | undefined;
    for (;;) {
      let field: string;
      if (text.charCodeAt(i) === 34 /* " */) {
        i++;
        const parts: string[] = [];
        let closed = false;
        while (i < n) {
          const q = text.indexOf('"', i);
          const chunk = q < 0 ? text.slice(i) : text.slice(i, q);
          for (let k = chunk.indexOf('\n'); k >= 0; k = chunk.indexOf('\n', k + 1)) line++;
          parts.push(chunk);
          if (q < 0) {
            i = n;
            break;
          }
          if (text.charCodeAt(q + 1) === 34) {
            parts.push('"');
            i = q + 2;
            continue;
          }
          i = q + 1;
          closed = true;
          break;
        }
        if (!closed) error ??= 'unterminated quoted field';
        field = parts.join('');
        const tail = i;
        while (i < n && text.charCodeAt(i) !== 44 && !isEnd(text.charCodeAt(i))) i++;
        if (i > tail) {
          error ??= 'text after a closing quote';
          field += text.slice(tail, i);
        }
      } else {
        const from = i;
        while (i < n && text.charCodeAt(i) !== 44 && !isEnd(text.charCodeAt(i))) i++;
        field = text.slice(from, i);
      }
      fields.push(field);
      if (i >= n) break;
      if (text.charCodeAt(i) === 44 /* , */) {
        i++;
        continue;
      }
      if (text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10) i += 2;
      else i++;
      line++;
      break;
    }
    if (fields.length === 1 && fields[0] === '' && !error) continue;
    yield error ? { line: start, fields, error } : { line: start, fields };
  }
}
