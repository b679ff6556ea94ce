import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { rebuildEras } from './eras.ts';
import { ingestFhir } from './fhir-ingest.ts';

const SNOMED = 'http://snomed.info/sct';
const RXNORM = 'http://www.nlm.nih.gov/research/umls/rxnorm';

/** A tiny vocabulary: one condition; ingredient i1 with drug d1 under it in CONCEPT_ANCESTOR; d2 → i2 only by relationship. */
const CONCEPTS: [number, string, string, string, string][] = [
  [1001, 'Condition', 'SNOMED', 'Clinical Finding', 'c1'],
  [2001, 'Drug', 'RxNorm', 'Ingredient', 'i1'],
  [2002, 'Drug', 'RxNorm', 'Clinical Drug', 'd1'],
  [2003, 'Drug', 'RxNorm', 'Ingredient', 'i2'],
  [2004, 'Drug', 'RxNorm', 'Clinical Drug', 'd2'],
];

const patient = (id: string) => ({ resourceType: 'Patient', id, gender: 'female', birthDate: '1960-01-01' });
let n = 0;
const condition = (person: string, code: string, onset: string, abatement?: string) => ({
  resourceType: 'Condition',
  id: `cond-${++n}`,
  subject: { reference: `Patient/${person}` },
  code: { coding: [{ system: SNOMED, code }] },
  onsetDateTime: onset,
  ...(abatement ? { abatementDateTime: abatement } : {}),
});
const prescription = (person: string, code: string, authoredOn: string, days: number) => ({
  resourceType: 'MedicationRequest',
  id: `rx-${++n}`,
  status: 'completed',
  intent: 'order',
  subject: { reference: `Patient/${person}` },
  medicationCodeableConcept: { coding: [{ system: RXNORM, code }] },
  authoredOn,
  dispenseRequest: {
    expectedSupplyDuration: { value: days, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
  },
});

function writeNdjson(dir: string, name: string, resources: object[]): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${resources.map((r) => JSON.stringify(r)).join('\n')}\n`);
  return file;
}

describe.each(SITE_DIALECTS)('condition_era and drug_era after a FHIR ingest on %s', (dialect) => {
  let t: TestStore | undefined;
  const eras = async (table: 'condition_era' | 'drug_era') => {
    const columns =
      table === 'condition_era'
        ? 'p.person_source_value AS person, e.condition_concept_id AS concept, e.condition_era_start_date AS start, e.condition_era_end_date AS "end", e.condition_occurrence_count AS count'
        : 'p.person_source_value AS person, e.drug_concept_id AS concept, e.drug_era_start_date AS start, e.drug_era_end_date AS "end", e.drug_exposure_count AS count, e.gap_days AS gap';
    return t!.store.all(
      `SELECT ${columns} FROM cdm.${table} e JOIN cdm.person p ON p.person_id = e.person_id ORDER BY 1, 2, 3`,
    );
  };

  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (!t) return;
    await t.store.appendRows(
      'cdm',
      'concept',
      [
        'concept_id',
        'concept_name',
        'domain_id',
        'vocabulary_id',
        'concept_class_id',
        'standard_concept',
        'concept_code',
        'valid_start_date',
        'valid_end_date',
      ],
      CONCEPTS.map(([id, domain, vocabulary, cls, code]) => [
        id,
        code,
        domain,
        vocabulary,
        cls,
        'S',
        code,
        '1970-01-01',
        '2099-12-31',
      ]),
    );
    await t.store.appendRows(
      'cdm',
      'concept_ancestor',
      [
        'ancestor_concept_id',
        'descendant_concept_id',
        'min_levels_of_separation',
        'max_levels_of_separation',
      ],
      [
        [2001, 2001, 0, 0],
        [2001, 2002, 1, 1],
        [2002, 2002, 0, 0],
      ],
    );
    await t.store.appendRows(
      'cdm',
      'concept_relationship',
      ['concept_id_1', 'concept_id_2', 'relationship_id', 'valid_start_date', 'valid_end_date'],
      [[2004, 2003, 'RxNorm has ing', '1970-01-01', '2099-12-31']],
    );
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('derives the OHDSI eras (30-day gaps; drugs by ingredient) for the persons ingested', async (ctx) => {
    if (!t) return ctx.skip();
    const file = writeNdjson(path.join(t.dir, 'in'), 'first.ndjson', [
      patient('p1'),
      patient('p2'),
      // c1 for p1: [01-01, 01-02] (no end: start + 1), [01-20, 01-25] 18 days later, 02-24 exactly
      // 30 days after 01-25 (same era), 03-27 31 days after 02-25 (new era).
      condition('p1', 'c1', '2020-01-01'),
      condition('p1', 'c1', '2020-01-20', '2020-01-25'),
      condition('p1', 'c1', '2020-02-24'),
      condition('p1', 'c1', '2020-03-27'),
      // Not in the vocabulary: concept 0, no era.
      condition('p1', 'c-unknown', '2020-01-01'),
      condition('p2', 'c1', '2021-06-01'),
      // i1 for p1: d1 [01-01, 01-10] and i1 itself [01-05, 01-14] overlap; d1 [02-13, 02-17]
      // starts 30 days after 01-14 (same era: 47 days, 17 exposed, gap 30); d1 [04-01, 04-01]
      // 44 days later (new era).
      prescription('p1', 'd1', '2020-01-01', 10),
      prescription('p1', 'i1', '2020-01-05', 10),
      prescription('p1', 'd1', '2020-02-13', 5),
      prescription('p1', 'd1', '2020-04-01', 1),
      // d2 reaches i2 only through "RxNorm has ing".
      prescription('p1', 'd2', '2020-05-01', 3),
    ]);
    const summary = await ingestFhir(t.store, [file], { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(summary.quarantined).toBe(0);
    expect(await eras('condition_era')).toEqual([
      { person: 'p1', concept: 1001, start: '2020-01-01', end: '2020-02-25', count: 3 },
      { person: 'p1', concept: 1001, start: '2020-03-27', end: '2020-03-28', count: 1 },
      { person: 'p2', concept: 1001, start: '2021-06-01', end: '2021-06-02', count: 1 },
    ]);
    expect(await eras('drug_era')).toEqual([
      { person: 'p1', concept: 2001, start: '2020-01-01', end: '2020-02-17', count: 3, gap: 30 },
      { person: 'p1', concept: 2001, start: '2020-04-01', end: '2020-04-01', count: 1, gap: 0 },
      { person: 'p1', concept: 2003, start: '2020-05-01', end: '2020-05-03', count: 1, gap: 0 },
    ]);
  });

  it('changes nothing when the same file is ingested again, or the eras are rebuilt with no new rows', async (ctx) => {
    if (!t) return ctx.skip();
    const before = [await eras('condition_era'), await eras('drug_era')];
    const ids = await t.store.all('SELECT condition_era_id FROM cdm.condition_era ORDER BY 1');
    const again = await ingestFhir(t.store, [path.join(t.dir, 'in', 'first.ndjson')], {
      quarantineDir: path.join(t.dir, 'quarantine'),
    });
    expect(again.skippedFiles).toBe(1);
    expect(await rebuildEras(t.store)).toEqual({ persons: 0, conditionEras: 0, drugEras: 0 });
    expect([await eras('condition_era'), await eras('drug_era')]).toEqual(before);
    expect(await t.store.all('SELECT condition_era_id FROM cdm.condition_era ORDER BY 1')).toEqual(ids);
  });

  it('rebuilds only the persons a later ingest touches', async (ctx) => {
    if (!t) return ctx.skip();
    const [p2Before] = await t.store.all<{ id: number }>(
      `SELECT e.condition_era_id AS id FROM cdm.condition_era e JOIN cdm.person p ON p.person_id = e.person_id WHERE p.person_source_value = 'p2'`,
    );
    // 03-10 bridges both c1 eras of p1: 13 days after 02-25, and 03-11 is 16 days before 03-27.
    const file = writeNdjson(path.join(t.dir, 'in'), 'second.ndjson', [condition('p1', 'c1', '2020-03-10')]);
    await ingestFhir(t.store, [file], { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(await eras('condition_era')).toEqual([
      { person: 'p1', concept: 1001, start: '2020-01-01', end: '2020-03-28', count: 5 },
      { person: 'p2', concept: 1001, start: '2021-06-01', end: '2021-06-02', count: 1 },
    ]);
    const [p2After] = await t.store.all<{ id: number }>(
      `SELECT e.condition_era_id AS id FROM cdm.condition_era e JOIN cdm.person p ON p.person_id = e.person_id WHERE p.person_source_value = 'p2'`,
    );
    expect(p2After).toEqual(p2Before);
    expect((await eras('drug_era')).length).toBe(3);
  });

  it('derives the same eras when every person is read in a chunk of their own', async (ctx) => {
    if (!t) return ctx.skip();
    const before = [await eras('condition_era'), await eras('drug_era')];
    await t.store.run('DELETE FROM itda.era_source');
    const rebuilt = await rebuildEras(t.store, { rowsPerChunk: 1 });
    expect(rebuilt.persons).toBe(2);
    expect(rebuilt.conditionEras + rebuilt.drugEras).toBe(before[0]!.length + before[1]!.length);
    expect([await eras('condition_era'), await eras('drug_era')]).toEqual(before);
  });
});
