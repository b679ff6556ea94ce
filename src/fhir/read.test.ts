import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { type FhirItem, readFhir } from './read.ts';

const BUNDLES = path.resolve(import.meta.dirname, '../../../shared/data/synthea-r4-bundles');

async function collect(paths: string[]): Promise<FhirItem[]> {
  const out: FhirItem[] = [];
  for await (const item of readFhir(paths)) out.push(item);
  return out;
}

describe('FHIR readers', () => {
  it('reads every entry of the Synthea bundles, counted independently', async () => {
    const expected: Record<string, number> = {};
    for (const name of fs.readdirSync(BUNDLES).filter((n) => n.endsWith('.json'))) {
      const bundle = JSON.parse(fs.readFileSync(path.join(BUNDLES, name), 'utf8')) as {
        entry?: { resource: { resourceType: string } }[];
      };
      for (const e of bundle.entry ?? [])
        expected[e.resource.resourceType] = (expected[e.resource.resourceType] ?? 0) + 1;
    }
    const counts: Record<string, number> = {};
    const items = await collect([BUNDLES]);
    for (const item of items)
      if (item.kind === 'resource')
        counts[item.resource.resourceType] = (counts[item.resource.resourceType] ?? 0) + 1;
    expect(items.filter((i) => i.kind === 'bad')).toEqual([]);
    expect(counts).toEqual(expected);
    expect(counts.Patient).toBeGreaterThanOrEqual(68);
    // urn:uuid references now point at Type/id.
    const condition = items.find((i) => i.kind === 'resource' && i.resource.resourceType === 'Condition');
    const subject =
      condition?.kind === 'resource' ? (condition.resource.subject as { reference: string }) : undefined;
    expect(subject?.reference).toMatch(/^Patient\//);
  });

  it('reads gzip NDJSON and reports bad lines with file and line, going on after them', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itda-fhir-'));
    const file = path.join(dir, 'Observation.ndjson.gz');
    const lines = [
      JSON.stringify({ resourceType: 'Observation', id: 'a' }),
      '{ not json',
      JSON.stringify({ id: 'no-type' }),
      '',
      JSON.stringify({ resourceType: 'Observation', id: 'b' }),
    ];
    fs.writeFileSync(file, gzipSync(lines.join('\n')));
    const items = await collect([dir]);
    expect(
      items.map((i) => (i.kind === 'resource' ? [i.line, i.resource.id] : [i.line, i.reason.split(':')[0]])),
    ).toEqual([
      [1, 'a'],
      [2, 'malformed JSON'],
      [3, 'no resourceType'],
      [5, 'b'],
    ]);
    expect(items.every((i) => i.file === file)).toBe(true);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
