/**
 * Streaming reader for delimited files (RFC 4180 quoting, fields spanning lines, a UTF-8
 * BOM, gzip by extension). Memory holds one chunk and one record, whatever the file size;
 * each record carries the line it started on, for error messages.
 */
import fs from 'node:fs';
import { createGunzip } from 'node:zlib';

export interface CsvRecord {
  line: number;
  fields: string[];
}

/** Tab if the header line has tabs (Athena's download), else comma. */
export function detectDelimiter(headerLine: string): string {
  return headerLine.includes('\t') ? '\t' : ',';
}

export async function* readDelimited(
  file: string,
  options: { delimiter?: string; onBytes?: (bytes: number) => void } = {},
): AsyncGenerator<CsvRecord> {
  const raw = fs.createReadStream(file);
  if (options.onBytes) raw.on('data', (chunk) => options.onBytes!(chunk.length));
  const input = file.endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  input.setEncoding('utf8');
  let delimiter = options.delimiter;
  let field = '';
  let fields: string[] = [];
  let quoted = false;
  let afterQuote = false;
  let line = 1;
  let recordLine = 1;
  let first = true;
  for await (const chunk of input as AsyncIterable<string>) {
    let text = chunk;
    if (first) {
      first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      delimiter ??= detectDelimiter(text.slice(0, text.indexOf('\n') >>> 0));
    }
    const records: CsvRecord[] = [];
    for (let i = 0; i < text.length; i++) {
      const ch = text[i]!;
      if (quoted) {
        if (ch === '"') {
          quoted = false;
          afterQuote = true;
        } else {
          if (ch === '\n') line++;
          field += ch;
        }
        continue;
      }
      if (ch === '"') {
        // A doubled quote inside a quoted field, or an opening quote.
        if (afterQuote) field += '"';
        quoted = true;
        afterQuote = false;
        continue;
      }
      afterQuote = false;
      if (ch === delimiter) {
        fields.push(field);
        field = '';
      } else if (ch === '\n') {
        fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
        if (!(fields.length === 1 && fields[0] === '')) records.push({ line: recordLine, fields });
        fields = [];
        field = '';
        line++;
        recordLine = line;
      } else field += ch;
    }
    yield* records;
  }
  if (field !== '' || fields.length > 0) {
    fields.push(field.endsWith('\r') ? field.slice(0, -1) : field);
    yield { line: recordLine, fields };
  }
}
