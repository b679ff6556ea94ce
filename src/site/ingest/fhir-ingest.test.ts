import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { ingestFhir } from './fhir-ingest.ts';
import { loadVocabulary } from './omop-csv.ts';

const DATA = path.resolve(import.meta.dirname, '../../../../shared/data');
const BUNDLES = path.join(DATA, 'synthea-r4-bundles');
// A sample keeps the test quick; the reference hospital and practitioner bundles come along.
const files = fs
  .readdirSync(BUNDLES)
  .filter((n) => n.endsWith('.json'))
  .sort()
  .filter((n, i) => i < 8 || /hospital|practitioner/i.test(n))
  .map((n) => path.join(BUNDLES, n));

function countByType(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of files) {
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      entry?: { resource: { resourceType: string } }[];
    };
    for (const e of bundle.entry ?? [])
      counts[e.resource.resourceType] = (counts[e.resource.resourceType] ?? 0) + 1;
  }
  return counts;
}

describe.each(SITE_DIALECTS)('FHIR ingest on %s', (dialect) => {
  let t: TestStore | undefined;
  const expected = countByType();
  const tableCounts = async (tables: string[]) =>
    Object.fromEntries(
      await Promise.all(
        tables.map(async (x) => [
          x,
          (await t!.store.all<{ n: number }>(`SELECT count(*) AS n FROM cdm.${x}`))[0]!.n,
        ]),
      ),
    );
  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (t)
      await loadVocabulary(t.store, path.join(DATA, 'eunomia-synthea27nj-5.4'), {
        quarantineDir: path.join(t.dir, 'q'),
      });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('gives one person per Patient and one visit per Encounter, and derives observation periods', async (ctx) => {
    if (!t) return ctx.skip();
    const summary = await ingestFhir(t.store, files, { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(summary.resources).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
    expect(summary.quarantined).toBe(0);
    expect(await tableCounts(['person', 'visit_occurrence', 'observation_period'])).toEqual({
      person: expected.Patient,
      visit_occurrence: expected.Encounter,
      observation_period: expected.Patient,
    });
    const [unmapped] = await t.store.all<{ n: number }>(
      'SELECT count(*) AS n FROM cdm.condition_occurrence WHERE condition_concept_id = 0',
    );
    const [all] = await t.store.all<{ n: number }>('SELECT count(*) AS n FROM cdm.condition_occurrence');
    expect(all!.n).toBeGreaterThan(0);
    expect(unmapped!.n / all!.n).toBeLessThan(0.2);
  });

  it('adds nothing when the same files are ingested again', async (ctx) => {
    if (!t) return ctx.skip();
    const tables = [
      'person',
      'visit_occurrence',
      'condition_occurrence',
      'measurement',
      'drug_exposure',
      'procedure_occurrence',
    ];
    const before = await tableCounts(tables);
    const again = await ingestFhir(t.store, files, { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(again.skippedFiles).toBe(files.length);
    expect(await tableCounts(tables)).toEqual(before);
  });

  it('quarantines bad lines with file and line, keeps the rest, and leaves nothing of a file that fails', async (ctx) => {
    if (!t) return ctx.skip();
    const dir = path.join(t.dir, 'ndjson');
    fs.mkdirSync(dir, { recursive: true });
    const patient = { resourceType: 'Patient', id: 'nd-1', gender: 'female', birthDate: '1970-05-01' };
    fs.writeFileSync(
      path.join(dir, 'Patient.ndjson'),
      [
        JSON.stringify(patient),
        '{ broken',
        JSON.stringify({ resourceType: 'Patient', id: 'nd-2', birthDate: '2021-02-30' }),
      ].join('\n'),
    );
    const summary = await ingestFhir(t.store, [dir], { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(summary.quarantined).toBe(2);
    const lines = fs
      .readFileSync(path.join(t.dir, 'quarantine', 'Patient.ndjson.quarantine.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { line: number; reason: string });
    expect(lines.map((l) => l.line)).toEqual([2, 3]);
    expect(lines[1]!.reason).toMatch(/impossible_date/);
    const [person] = await t.store.all<{ n: number }>(
      "SELECT count(*) AS n FROM cdm.person WHERE person_source_value = 'nd-1'",
    );
    expect(person!.n).toBe(1);
  });

  it('takes a run of small files, a copy of an earlier one and one an earlier run took, once each', async (ctx) => {
    if (!t) return ctx.skip();
    const dir = path.join(t.dir, 'many');
    fs.mkdirSync(dir, { recursive: true });
    const patientLine = (id: string) =>
      JSON.stringify({ resourceType: 'Patient', id, gender: 'male', birthDate: '1980-01-01' });
    const earlier = path.join(t.dir, 'earlier.ndjson');
    fs.writeFileSync(earlier, patientLine('many-earlier'));
    await ingestFhir(t.store, [earlier], { quarantineDir: path.join(t.dir, 'quarantine') });
    // Sorted by name: a, then b (the same bytes as a), the earlier run's file, then c…h of one line each.
    fs.writeFileSync(path.join(dir, 'a.ndjson'), patientLine('many-a'));
    fs.copyFileSync(path.join(dir, 'a.ndjson'), path.join(dir, 'b.ndjson'));
    fs.copyFileSync(earlier, path.join(dir, 'b2.ndjson'));
    for (const name of 'cdefgh')
      fs.writeFileSync(path.join(dir, `${name}.ndjson`), patientLine(`many-${name}`));
    const summary = await ingestFhir(t.store, [dir], { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(summary).toMatchObject({ files: 9, skippedFiles: 2, resources: 7, quarantined: 0 });
    const people = await t.store.all<{ id: string }>(
      "SELECT person_source_value AS id FROM cdm.person WHERE person_source_value LIKE 'many-%' ORDER BY person_id",
    );
    expect(people.map((p) => p.id)).toEqual(['earlier', ...'acdefgh'].map((x) => `many-${x}`));
  });
});
