import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { isItdaError } from '../protocol/errors.ts';
import { InMemoryIdAllocator } from './ids.ts';
import { mapResource } from './mapper.ts';
import { type ReadItem, readFhirResources } from './readers.ts';
import { caseSeedLookup, SYNTHEA_DIR } from './test-support.ts';
import type { FhirResource } from './types.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'itda-fhir-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function collect(paths: string | string[]): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  for await (const item of readFhirResources(paths)) items.push(item);
  return items;
}

function hasUrnReference(node: unknown): boolean {
  if (Array.isArray(node)) return node.some(hasUrnReference);
  if (typeof node !== 'object' || node === null) return false;
  return Object.entries(node).some(([key, value]) =>
    key === 'reference' && typeof value === 'string' ? value.startsWith('urn:') : hasUrnReference(value),
  );
}

describe('Bundles: the Synthea R4 transaction bundles', () => {
  it('yields every entry, counted by type as JSON.parse of each file counts them', async () => {
    const expected = new Map<string, number>();
    for (const name of fs.readdirSync(SYNTHEA_DIR).filter((f) => f.endsWith('.json'))) {
      const bundle = JSON.parse(fs.readFileSync(path.join(SYNTHEA_DIR, name), 'utf8'));
      for (const entry of bundle.entry) {
        expected.set(entry.resource.resourceType, (expected.get(entry.resource.resourceType) ?? 0) + 1);
      }
    }
    const items = await collect(SYNTHEA_DIR);
    const counted = new Map<string, number>();
    for (const item of items) {
      expect(item.kind).toBe('resource');
      if (item.kind !== 'resource') continue;
      counted.set(item.resource.resourceType, (counted.get(item.resource.resourceType) ?? 0) + 1);
    }
    expect(Object.fromEntries([...counted].sort())).toEqual(Object.fromEntries([...expected].sort()));
    expect(counted.get('Patient')).toBe(68);
  });

  it('resolves urn:uuid references to Type/id and numbers entries from 1', async () => {
    const file = fs.readdirSync(SYNTHEA_DIR).find((f) => f.startsWith('Abdul_Koepp'))!;
    const items = await collect(path.join(SYNTHEA_DIR, file));
    const resources = items.flatMap((i) => (i.kind === 'resource' ? [i] : []));
    expect(resources[0]!.line).toBe(1);
    expect(resources[0]!.resource.resourceType).toBe('Patient');
    expect(resources.some((r) => hasUrnReference(r.resource))).toBe(false);
    const encounter = resources.find((r) => r.resource.resourceType === 'Encounter')!.resource;
    expect((encounter.subject as { reference: string }).reference).toBe(
      `Patient/${resources[0]!.resource.id}`,
    );
  });
});

describe('NDJSON', () => {
  const resources: FhirResource[] = [
    { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1970-01-01' },
    { resourceType: 'Patient', id: 'p2', name: [{ text: '김민수' }], birthDate: '1980-02-03' },
    {
      resourceType: 'Encounter',
      id: 'e1',
      subject: { reference: 'Patient/p1' },
      period: { start: '2020-01-01' },
    },
  ];

  it('round-trips a gzip file line by line', async () => {
    const file = path.join(tmp, 'Patient.ndjson.gz');
    fs.writeFileSync(file, gzipSync(`${resources.map((r) => JSON.stringify(r)).join('\n')}\n`));
    const items = await collect(file);
    expect(items).toEqual(
      resources.map((resource, i) => ({ kind: 'resource', file, line: i + 1, resource })),
    );
  });

  it.each([
    // Over 1 MiB, so lines, CRLF pairs and multi-byte characters fall across read chunks.
    {
      text: 'Korean text, every line end',
      name: '환자 가',
      endings: ['\n', '\r\n', '\r', '\n\n', '\r\n  \r\n'],
    },
    {
      text: 'ASCII text, every line end',
      name: 'Patient a',
      endings: ['\n', '\r\n', '\r', '\n\n', '\r\n  \r\n'],
    },
    // No LF at all: a chunk must split at a lone CR.
    { text: 'lone CRs only', name: 'Patient a', endings: ['\r'] },
  ])('numbers lines as readline does, wherever a read chunk ends: $text', async ({ name, endings }) => {
    let text = '';
    for (let i = 0; text.length < 1_500_000; i++) {
      const patient = {
        resourceType: 'Patient',
        id: `p${i}`,
        name: [{ text: name + name.at(-1)!.repeat(i % 97) }],
      };
      text += JSON.stringify(patient) + endings[i % endings.length];
    }
    const file = path.join(tmp, 'line-ends.ndjson');
    fs.writeFileSync(file, `${text}{"resourceType":"Patient","id":"last"}\r`);
    const expected: { line: number; id: string }[] = [];
    let line = 0;
    for await (const l of createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity })) {
      line++;
      if (l.trim() !== '') expected.push({ line, id: JSON.parse(l).id });
    }
    const items = await collect(file);
    expect(items.map((i) => ({ line: i.line, id: i.kind === 'resource' ? i.resource.id : i.kind }))).toEqual(
      expected,
    );
    expect(expected.at(-1)?.id).toBe('last');
    expect(expected.length).toBeGreaterThan(5000);
  });

  it('reports a truncated gzip file and keeps going with the next file', async () => {
    const broken = path.join(tmp, 'broken', 'a.ndjson.gz');
    const next = path.join(tmp, 'broken', 'b.ndjson');
    fs.mkdirSync(path.dirname(broken), { recursive: true });
    const whole = gzipSync(resources.map((r) => JSON.stringify(r)).join('\n'));
    fs.writeFileSync(broken, whole.subarray(0, whole.length - 12));
    fs.writeFileSync(next, `${JSON.stringify(resources[0])}\n`);
    const items = await collect(path.dirname(broken));
    const bad = items.filter((i) => i.kind === 'quarantine');
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ file: broken, reason: 'unreadable_file' });
    expect(items.at(-1)).toMatchObject({ kind: 'resource', file: next, line: 1 });
  });

  it('walks folders recursively, in name order, taking only FHIR files', async () => {
    const root = path.join(tmp, 'tree');
    fs.mkdirSync(path.join(root, 'b', 'c'), { recursive: true });
    fs.writeFileSync(path.join(root, 'b', 'c', 'Patient.ndjson'), `${JSON.stringify(resources[1])}\n`);
    fs.writeFileSync(path.join(root, 'a.ndjson'), `${JSON.stringify(resources[0])}\n`);
    fs.writeFileSync(path.join(root, 'notes.txt'), 'not FHIR');
    const items = await collect(root);
    expect(items.map((i) => (i.kind === 'resource' ? i.resource.id : i.reason))).toEqual(['p1', 'p2']);
  });

  it('refuses a path that does not exist, before reading anything', async () => {
    const error = await collect(path.join(tmp, 'nope')).catch((e: unknown) => e);
    expect(isItdaError(error) && error.code).toBe('not_found');
  });
});

describe('bad input is quarantined with its reason and the rest goes on', () => {
  const lines = [
    JSON.stringify({ resourceType: 'Patient', id: 'p1', gender: 'male', birthDate: '1960-05-12' }),
    '{"resourceType": "Patient", "id": ',
    JSON.stringify({ id: 'no-type', gender: 'male' }),
    JSON.stringify({ resourceType: 'Patinet', id: 'typo' }),
    JSON.stringify({
      resourceType: 'Condition',
      id: 'c1',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
      onsetDateTime: '2020-01-01',
    }),
    JSON.stringify({
      resourceType: 'Observation',
      id: 'o1',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      effectiveDateTime: '2021-02-30T10:00:00+09:00',
      valueQuantity: { value: 5.4, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    }),
    '',
    JSON.stringify({ resourceType: 'Claim', id: 'claim-1' }),
    JSON.stringify({
      resourceType: 'Observation',
      id: 'o2',
      status: 'final',
      subject: { reference: 'Patient/p1' },
      code: { coding: [{ system: 'http://loinc.org', code: '2339-0' }] },
      effectiveDateTime: '2021-02-28T10:00:00+09:00',
      valueQuantity: { value: 98, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    }),
  ];

  it('names file, line and reason for each, and maps what is good', async () => {
    const file = path.join(tmp, 'mixed.ndjson');
    fs.writeFileSync(file, lines.join('\n'));
    const context = { concepts: caseSeedLookup(), ids: new InMemoryIdAllocator() };
    const outcomes: { line: number; status: string; reason?: string }[] = [];
    for await (const item of readFhirResources(file)) {
      if (item.kind === 'quarantine') {
        outcomes.push({ line: item.line, status: 'quarantined', reason: item.reason });
        continue;
      }
      const { outcome } = mapResource(item.resource, context);
      outcomes.push({
        line: item.line,
        status: outcome.status,
        ...(outcome.status === 'mapped' ? {} : { reason: outcome.reason }),
      });
    }
    expect(outcomes).toEqual([
      { line: 1, status: 'mapped' },
      { line: 2, status: 'quarantined', reason: 'malformed_json' },
      { line: 3, status: 'quarantined', reason: 'missing_resource_type' },
      { line: 4, status: 'quarantined', reason: 'unknown_resource_type' },
      { line: 5, status: 'quarantined', reason: 'missing_subject' },
      { line: 6, status: 'quarantined', reason: 'impossible_date' },
      { line: 8, status: 'skipped', reason: 'not_mapped_type' },
      { line: 9, status: 'mapped' },
    ]);
  });

  it('a Bundle: entries without a resource, a malformed file, a single-resource file', async () => {
    const bundleFile = path.join(tmp, 'bundles', 'transaction.json');
    fs.mkdirSync(path.dirname(bundleFile), { recursive: true });
    fs.writeFileSync(
      bundleFile,
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:7f1c0c4e-0000-4000-8000-000000000001',
            resource: { resourceType: 'Patient', birthDate: '1990-01-01' },
            request: { method: 'POST', url: 'Patient' },
          },
          { request: { method: 'DELETE', url: 'Patient/old' } },
          {
            fullUrl: 'urn:uuid:7f1c0c4e-0000-4000-8000-000000000002',
            resource: {
              resourceType: 'Encounter',
              subject: { reference: 'urn:uuid:7f1c0c4e-0000-4000-8000-000000000001' },
              period: { start: '2020-01-01T09:00:00+09:00' },
            },
          },
        ],
      }),
    );
    fs.writeFileSync(path.join(tmp, 'bundles', 'broken.json'), '{"resourceType": "Bundle", "entry": [');
    fs.writeFileSync(
      path.join(tmp, 'bundles', 'single.json'),
      JSON.stringify({ resourceType: 'Patient', id: 'solo', birthDate: '2001' }),
    );
    const items = await collect(path.join(tmp, 'bundles'));
    expect(
      items.map((i) => [
        path.basename(i.file),
        i.line,
        i.kind === 'resource' ? i.resource.resourceType : i.reason,
      ]),
    ).toEqual([
      ['broken.json', 0, 'malformed_json'],
      ['single.json', 0, 'Patient'],
      ['transaction.json', 1, 'Patient'],
      ['transaction.json', 2, 'entry_without_resource'],
      ['transaction.json', 3, 'Encounter'],
    ]);
    const encounter = items[4]!.kind === 'resource' ? items[4]!.resource : undefined;
    expect(encounter?.id).toBe('7f1c0c4e-0000-4000-8000-000000000002');
    expect(encounter?.subject).toEqual({ reference: 'Patient/7f1c0c4e-0000-4000-8000-000000000001' });
  });
});
