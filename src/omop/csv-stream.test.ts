import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseCsvRows } from './csv.ts';
import { readDelimited } from './csv-stream.ts';

async function collect(file: string) {
  const out = [];
  for await (const r of readDelimited(file)) out.push(r);
  return out;
}

describe('streaming delimited reader', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itda-csv-'));

  it('reads quotes, doubled quotes, fields across lines and CRLF, with start lines', async () => {
    const file = path.join(dir, 'a.csv');
    fs.writeFileSync(file, '\ufeffid,text,n\r\n1,"a, ""quoted""\nsecond line",3\r\n2,,\r\n');
    expect(await collect(file)).toEqual([
      { line: 1, fields: ['id', 'text', 'n'] },
      { line: 2, fields: ['1', 'a, "quoted"\nsecond line', '3'] },
      { line: 4, fields: ['2', '', ''] },
    ]);
  });

  it('detects tabs (Athena) and reads gzip', async () => {
    const file = path.join(dir, 'b.csv.gz');
    fs.writeFileSync(file, gzipSync('concept_id\tconcept_name\n8507\tMALE\n'));
    expect((await collect(file)).map((r) => r.fields)).toEqual([
      ['concept_id', 'concept_name'],
      ['8507', 'MALE'],
    ]);
  });

  it('agrees with the in-memory reader on a real vocabulary file', async () => {
    const file = path.resolve(
      import.meta.dirname,
      '../../../shared/data/fhir2omop-cases/cases_vocab_seed_concept.csv',
    );
    const streamed = (await collect(file)).map((r) => r.fields);
    expect(streamed).toEqual(parseCsvRows(fs.readFileSync(file, 'utf8')));
    expect(streamed.length).toBeGreaterThan(100);
  });
});
