/**
 * Whole-Synthea accounting: every one of the 68 Synthea bundles (and the hospital and
 * practitioner bundles they reference, and one bundle of bad entries) ingested into a store
 * holding the Eunomia vocabulary, and every clinical resource traced to the row it became
 * or to its line in the quarantine. The expected rows
 * are worked out here from the bundle JSON and the vocabulary CSVs alone — which coding,
 * which "Maps to" target, which domain, which table — never through src/fhir, so a mapping
 * bug cannot hide behind itself. Rows are traced through `itda.id_map`: a resource's first
 * row takes the id of (resourceType, id); a component's row takes ("Row",
 * "Observation/<id>#component/<n>/0").
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { parseCsv } from '../../omop/csv.ts';
import { ingestFhir } from './fhir-ingest.ts';
import { loadVocabulary } from './omop-csv.ts';

const DATA = path.resolve(import.meta.dirname, '../../../../shared/data');
const BUNDLES = path.join(DATA, 'synthea-r4-bundles');
const EUNOMIA = path.join(DATA, 'eunomia-synthea27nj-5.4');
const synthea = fs
  .readdirSync(BUNDLES)
  .filter((n) => n.endsWith('.json'))
  .sort()
  .map((n) => path.join(BUNDLES, n));

/**
 * Beside the Synthea files, one bundle of bad entries about a Synthea patient, so that the
 * quarantine side of the accounting is exercised too: entry 1 has no subject, entry 2 an
 * impossible date, entry 3 is fine (a vaccine the Eunomia vocabulary lacks: concept 0).
 */
const BAD_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'itda-synthea-bad-'));
const BAD_BUNDLE = path.join(BAD_DIR, 'zz-bad-entries.json');
const EXPECTED_QUARANTINE = {
  'zz-bad-entries.json entry 1': /missing_subject/,
  'zz-bad-entries.json entry 2': /impossible_date/,
};
{
  const first = JSON.parse(fs.readFileSync(synthea[0]!, 'utf8')) as {
    entry: { resource: { resourceType: string; id: string } }[];
  };
  const patient = first.entry.find((e) => e.resource.resourceType === 'Patient')!.resource.id;
  const entry = (resource: object) => ({ resource });
  fs.writeFileSync(
    BAD_BUNDLE,
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        entry({
          resourceType: 'Condition',
          id: 'bad-condition-1',
          code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006' }] },
          onsetDateTime: '2020-01-01',
        }),
        entry({
          resourceType: 'Observation',
          id: 'bad-observation-1',
          status: 'final',
          subject: { reference: `Patient/${patient}` },
          code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
          valueQuantity: { value: 170, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
          effectiveDateTime: '2021-02-30',
        }),
        entry({
          resourceType: 'Immunization',
          id: 'good-immunization-1',
          status: 'completed',
          patient: { reference: `Patient/${patient}` },
          vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '140' }] },
          occurrenceDateTime: '2020-10-01',
        }),
      ],
    }),
  );
}
const files = [...synthea, BAD_BUNDLE];
afterAll(() => fs.rmSync(BAD_DIR, { recursive: true, force: true }));

const SYSTEMS: Record<string, string> = {
  'http://snomed.info/sct': 'SNOMED',
  'http://loinc.org': 'LOINC',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'RxNorm',
  'http://hl7.org/fhir/sid/cvx': 'CVX',
};

/** The event tables, keyed by the domain that selects them, with their key and concept columns. */
const TABLES = {
  condition_occurrence: [
    'Condition',
    'condition_occurrence_id',
    'condition_concept_id',
    'condition_source_value',
  ],
  procedure_occurrence: [
    'Procedure',
    'procedure_occurrence_id',
    'procedure_concept_id',
    'procedure_source_value',
  ],
  drug_exposure: ['Drug', 'drug_exposure_id', 'drug_concept_id', 'drug_source_value'],
  device_exposure: ['Device', 'device_exposure_id', 'device_concept_id', 'device_source_value'],
  measurement: ['Measurement', 'measurement_id', 'measurement_concept_id', 'measurement_source_value'],
  observation: ['Observation', 'observation_id', 'observation_concept_id', 'observation_source_value'],
} as const;
type EventTable = keyof typeof TABLES;
const TABLE_OF_DOMAIN = new Map<string, EventTable>(
  Object.entries(TABLES).map(([table, [domain]]) => [domain, table as EventTable]),
);

/** The table a resource type's rows go to when its code reaches no standard concept. */
const OWN_TABLE: Record<string, EventTable> = {
  Condition: 'condition_occurrence',
  Observation: 'observation',
  Procedure: 'procedure_occurrence',
  MedicationRequest: 'drug_exposure',
  MedicationStatement: 'drug_exposure',
  MedicationAdministration: 'drug_exposure',
  MedicationDispense: 'drug_exposure',
  Immunization: 'drug_exposure',
};
const ACCOUNTED_TYPES = Object.keys(OWN_TABLE);

interface Concept {
  id: number;
  domain: string;
  standard: boolean;
}

/** A Eunomia CSV with its headers upper-cased (the files' case is not fixed). */
function readCsv(name: string): Record<string, string | undefined>[] {
  return parseCsv(fs.readFileSync(path.join(EUNOMIA, name), 'utf8')).map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toUpperCase(), v])),
  );
}

/** The Eunomia vocabulary read straight from its CSVs: (vocabulary|code) → concept, and valid "Maps to". */
function readVocabulary() {
  const byCode = new Map<string, Concept>();
  const byId = new Map<number, Concept>();
  for (const r of readCsv('CONCEPT.csv')) {
    const concept = {
      id: Number(r.CONCEPT_ID),
      domain: r.DOMAIN_ID ?? '',
      standard: r.STANDARD_CONCEPT === 'S' && !r.INVALID_REASON,
    };
    byCode.set(`${r.VOCABULARY_ID}|${r.CONCEPT_CODE}`, concept);
    byId.set(concept.id, concept);
  }
  const mapsTo = new Map<number, Set<number>>();
  for (const r of readCsv('CONCEPT_RELATIONSHIP.csv')) {
    if (r.RELATIONSHIP_ID !== 'Maps to' || r.INVALID_REASON) continue;
    const from = Number(r.CONCEPT_ID_1);
    if (!mapsTo.has(from)) mapsTo.set(from, new Set());
    mapsTo.get(from)!.add(Number(r.CONCEPT_ID_2));
  }
  /** Standard targets of a code, by concept id; the concept itself when standard and not mapped. */
  return (system: string, code: string): Concept[] => {
    const source = byCode.get(`${SYSTEMS[system] ?? '?'}|${code}`);
    if (!source) return [];
    const targets = [...(mapsTo.get(source.id) ?? [])]
      .map((id) => byId.get(id))
      .filter((c): c is Concept => c?.standard === true)
      .sort((a, b) => a.id - b.id);
    return targets.length ? targets : source.standard ? [source] : [];
  };
}

interface ExpectedRow {
  /** The id_map key of the row. */
  namespace: string;
  key: string;
  table: EventTable;
  conceptId: number;
  sourceValue: string;
  /** Where it came from, for failure messages. */
  origin: string;
}

interface Coding {
  system: string;
  code: string;
}
type Json = Record<string, unknown>;

const codingOf = (concept: unknown): Coding | undefined =>
  ((concept as { coding?: Coding[] } | undefined)?.coding ?? [])[0];

const hasValue = (element: Json): boolean => Object.keys(element).some((k) => k.startsWith('value'));

/** Every row the bundles should give in the event tables, and their resources by type. */
function expectedFromBundles() {
  const targetsOf = readVocabulary();
  const rows: ExpectedRow[] = [];
  const resources: Record<string, number> = {};
  const byType: Record<string, number> = {};
  const push = (resource: Json, part: string | undefined, concept: unknown, origin: string) => {
    const coding = codingOf(concept);
    const type = resource.resourceType as string;
    if (!coding) throw new Error(`${origin}: the test expects a coded resource`);
    const targets = targetsOf(coding.system, coding.code);
    const chosen: (Concept | undefined)[] = targets.length ? targets : [undefined];
    chosen.forEach((target, index) => {
      const first = part === undefined && index === 0;
      rows.push({
        namespace: first ? type : 'Row',
        key: first ? (resource.id as string) : `${type}/${resource.id}#${part ?? ''}/${index}`,
        table: (target && TABLE_OF_DOMAIN.get(target.domain)) || OWN_TABLE[type]!,
        conceptId: target?.id ?? 0,
        sourceValue: coding.code,
        origin,
      });
    });
  };
  for (const file of files) {
    const bundle = JSON.parse(fs.readFileSync(file, 'utf8')) as { entry?: { resource: Json }[] };
    for (const [i, { resource }] of (bundle.entry ?? []).entries()) {
      const type = resource.resourceType as string;
      byType[type] = (byType[type] ?? 0) + 1;
      if (!ACCOUNTED_TYPES.includes(type)) continue;
      resources[type] = (resources[type] ?? 0) + 1;
      const origin = `${path.basename(file)} entry ${i + 1} (${type}/${resource.id})`;
      const code = resource.code ?? resource.medicationCodeableConcept ?? resource.vaccineCode;
      const components = (resource.component as Json[] | undefined) ?? [];
      // A panel without a value of its own is only its components.
      if (hasValue(resource) || components.length === 0) push(resource, undefined, code, origin);
      components.forEach((component, n) => {
        if (hasValue(component))
          push(resource, `component/${n}`, component.code, `${origin} component ${n + 1}`);
      });
    }
  }
  return { rows, resources, byType };
}

describe.each(SITE_DIALECTS)('all Synthea bundles ingested on %s', (dialect) => {
  let t: TestStore | undefined;
  const expected = expectedFromBundles();
  const count = async (table: string) =>
    (await t!.store.all<{ n: number }>(`SELECT count(*) AS n FROM cdm.${table}`))[0]!.n;
  let first: Awaited<ReturnType<typeof ingestFhir>> | undefined;

  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (!t) return;
    await loadVocabulary(t.store, EUNOMIA, { quarantineDir: path.join(t.dir, 'vocabulary-quarantine') });
    first = await ingestFhir(t.store, files, { quarantineDir: path.join(t.dir, 'quarantine') });
  }, 600_000);
  afterAll(async () => {
    await t?.dispose();
  });

  it('reads every resource of every bundle', (ctx) => {
    if (!t) return ctx.skip();
    expect(first!.files).toBe(files.length);
    expect(first!.resources).toBe(Object.values(expected.byType).reduce((a, b) => a + b, 0));
  });

  it('gives one person per Patient and one visit per Encounter, each traceable to its resource', async (ctx) => {
    if (!t) return ctx.skip();
    expect(await count('person')).toBe(expected.byType.Patient);
    expect(await count('visit_occurrence')).toBe(expected.byType.Encounter);
    const [people] = await t.store.all<{ n: number }>(
      `SELECT count(*) AS n FROM cdm.person p JOIN itda.id_map m
         ON m.namespace = 'Patient' AND m.omop_id = p.person_id AND m.key = p.person_source_value`,
    );
    expect(people!.n).toBe(expected.byType.Patient);
    const [visits] = await t.store.all<{ n: number }>(
      `SELECT count(*) AS n FROM cdm.visit_occurrence v JOIN itda.id_map m
         ON m.namespace = 'Encounter' AND m.omop_id = v.visit_occurrence_id`,
    );
    expect(visits!.n).toBe(expected.byType.Encounter);
  });

  it('puts every clinical resource in exactly one row of the table its domain selects, or in quarantine', async (ctx) => {
    if (!t) return ctx.skip();
    const ids = new Map<string, number>();
    for (const m of await t.store.all<{ namespace: string; key: string; omop_id: number }>(
      'SELECT namespace, key, omop_id FROM itda.id_map',
    ))
      ids.set(`${m.namespace}\u0000${m.key}`, m.omop_id);
    // Every row of every event table, by id: which tables hold it, with what concept and source.
    const found = new Map<number, { table: string; conceptId: number; sourceValue: string | null }[]>();
    for (const [table, [, key, concept, source]] of Object.entries(TABLES)) {
      for (const r of await t.store.all<{ id: number; concept_id: number; source_value: string | null }>(
        `SELECT ${key} AS id, ${concept} AS concept_id, ${source} AS source_value FROM cdm.${table}`,
      )) {
        if (!found.has(r.id)) found.set(r.id, []);
        found.get(r.id)!.push({ table, conceptId: r.concept_id, sourceValue: r.source_value });
      }
    }
    const quarantined = readQuarantine(path.join(t.dir, 'quarantine'));
    const problems: string[] = [];
    const inQuarantine = new Map<string, string>();
    for (const row of expected.rows) {
      const id = ids.get(`${row.namespace}\u0000${row.key}`);
      const hits = id === undefined ? [] : (found.get(id) ?? []);
      if (hits.length === 0) {
        const origin = row.origin.replace(/ component \d+$/, '').replace(/ \(.*$/, '');
        const reason = quarantined.get(origin);
        if (reason) inQuarantine.set(origin, reason);
        else problems.push(`${row.origin}: no row in ${row.table} and not quarantined`);
        continue;
      }
      if (hits.length > 1) problems.push(`${row.origin}: rows in ${hits.map((h) => h.table).join(' and ')}`);
      const hit = hits[0]!;
      if (hit.table !== row.table)
        problems.push(`${row.origin}: in ${hit.table}, its domain selects ${row.table}`);
      if (hit.conceptId !== row.conceptId)
        problems.push(`${row.origin}: concept ${hit.conceptId}, expected ${row.conceptId}`);
      if (hit.sourceValue !== row.sourceValue)
        problems.push(`${row.origin}: source value ${hit.sourceValue}, expected ${row.sourceValue}`);
    }
    expect(problems.slice(0, 20)).toEqual([]);
    expect(Object.fromEntries(inQuarantine)).toEqual(
      Object.fromEntries(
        Object.entries(EXPECTED_QUARANTINE).map(([origin, reason]) => [
          origin,
          expect.stringMatching(reason),
        ]),
      ),
    );
    const quarantinedRows = new Set(
      expected.rows.filter((r) => inQuarantine.has(r.origin.replace(/ \(.*$/, ''))),
    );
    // Nothing else in the event tables claims to come from these resources.
    const expectedIds = new Set(expected.rows.map((r) => ids.get(`${r.namespace}\u0000${r.key}`)));
    const fromAccountedTypes = new Set(
      [...ids.entries()]
        .filter(([k]) => {
          const [namespace, key] = k.split('\u0000') as [string, string];
          return (
            ACCOUNTED_TYPES.includes(namespace) ||
            (namespace === 'Row' && ACCOUNTED_TYPES.includes(key.split('/')[0]!))
          );
        })
        .map(([, id]) => id),
    );
    const extra = [...found.keys()].filter((id) => fromAccountedTypes.has(id) && !expectedIds.has(id));
    expect(extra).toEqual([]);
    // Per table: the rows the resources should give, plus those of the other mapped types.
    for (const table of Object.keys(TABLES) as EventTable[]) {
      const fromResources = expected.rows.filter((r) => r.table === table && !quarantinedRows.has(r)).length;
      const others = [...found.entries()].filter(
        ([id, hits]) => !fromAccountedTypes.has(id) && hits.some((h) => h.table === table),
      ).length;
      expect({ table, rows: await count(table) }).toEqual({ table, rows: fromResources + others });
    }
  });

  it('reports per table the rows it wrote, and as many quarantined resources as the quarantine holds', async (ctx) => {
    if (!t) return ctx.skip();
    for (const table of ['person', 'visit_occurrence', ...Object.keys(TABLES)]) {
      const reported = first!.report.tables.find((x) => x.table === table)?.rows ?? 0;
      expect({ table, rows: reported }).toEqual({ table, rows: await count(table) });
    }
    expect(first!.quarantined).toBe(readQuarantine(path.join(t.dir, 'quarantine')).size);
  });

  it('derives condition and drug eras: every mapped condition in exactly one era, drug eras on ingredients only', async (ctx) => {
    if (!t) return ctx.skip();
    const [conditions] = await t.store.all<{ n: number }>(
      'SELECT count(*) AS n FROM cdm.condition_occurrence WHERE condition_concept_id <> 0',
    );
    const [inEras] = await t.store.all<{ n: number; eras: number }>(
      'SELECT sum(condition_occurrence_count) AS n, count(*) AS eras FROM cdm.condition_era',
    );
    expect(conditions!.n).toBeGreaterThan(0);
    expect(inEras!.n).toBe(conditions!.n);
    expect(inEras!.eras).toBeLessThanOrEqual(conditions!.n);
    // Eunomia's vocabulary lacks the ingredients of its clinical drugs (no CONCEPT_ANCESTOR, and the
    // RxNorm relationships lead to concepts it does not ship; its own DRUG_ERA is empty), so only
    // exposures recorded at ingredient level can form drug eras — each in exactly one.
    const [atIngredient] = await t.store.all<{ n: number }>(
      `SELECT count(*) AS n FROM cdm.drug_exposure d JOIN cdm.concept c ON c.concept_id = d.drug_concept_id
        WHERE c.concept_class_id = 'Ingredient'`,
    );
    const [drugEras] = await t.store.all<{ n: number | null; other: number | null }>(
      `SELECT sum(e.drug_exposure_count) AS n, sum(CASE WHEN c.concept_class_id = 'Ingredient' THEN 0 ELSE 1 END) AS other
         FROM cdm.drug_era e LEFT JOIN cdm.concept c ON c.concept_id = e.drug_concept_id`,
    );
    expect(drugEras!.n ?? 0).toBe(atIngredient!.n);
    expect(drugEras!.other ?? 0).toBe(0);
  });

  it('changes no row count when the same files are ingested again', async (ctx) => {
    if (!t) return ctx.skip();
    const tables = [
      'person',
      'visit_occurrence',
      'observation_period',
      'death',
      'location',
      'care_site',
      'provider',
      'note',
      'image_occurrence',
      'condition_era',
      'drug_era',
      ...Object.keys(TABLES),
    ];
    const counts = async () =>
      Object.fromEntries(await Promise.all(tables.map(async (x) => [x, await count(x)])));
    const before = await counts();
    const [idsBefore] = await t.store.all<{ n: number }>('SELECT count(*) AS n FROM itda.id_map');
    const again = await ingestFhir(t.store, files, { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(again.skippedFiles).toBe(files.length);
    expect(await counts()).toEqual(before);
    const [idsAfter] = await t.store.all<{ n: number }>('SELECT count(*) AS n FROM itda.id_map');
    expect(idsAfter!.n).toBe(idsBefore!.n);
  });
});

/** Quarantined resources by "file entry n", with their reason. */
function readQuarantine(dir: string): Map<string, string> {
  const byOrigin = new Map<string, string>();
  if (!fs.existsSync(dir)) return byOrigin;
  for (const name of fs.readdirSync(dir)) {
    for (const line of fs.readFileSync(path.join(dir, name), 'utf8').split('\n')) {
      if (!line) continue;
      const item = JSON.parse(line) as { file: string; line: number; reason: string };
      if (item.reason) byOrigin.set(`${path.basename(item.file)} entry ${item.line}`, item.reason);
    }
  }
  return byOrigin;
}
