/**
 * The golden FHIR → OMOP cases of `../shared/data/fhir2omop-cases`, every one, against an
 * in-memory vocabulary built from the cases' own seed. A case we map differently on purpose
 * is listed in DEVIATIONS.md and asserted here as that documented difference.
 *
 * Case format: `fhir` (+ file-level `fixtures`) in, `omop` rows out; `ref:X` is the OMOP id
 * of resource X, `id:X` a surrogate id that must be equal wherever it appears, `*__name`
 * columns are annotations, a missing column means NULL, an omitted primary key is not
 * asserted, and a file asserts exactly the tables its cases list.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { InMemoryIdAllocator } from './ids.ts';
import { mapResource } from './mapper.ts';
import { CASES_DIR, caseSeedLookup } from './test-support.ts';
import type { FhirResource, OmopRow, OmopValue } from './types.ts';

type Row = Record<string, OmopValue>;
type Tables = Record<string, Row[]>;

interface CaseFile {
  title: string;
  notes: string;
  fixtures?: FhirResource[];
  cases: { desc: string; fhir: FhirResource[]; omop: Tables }[];
}

/** Primary key of each table the cases assert. */
const PRIMARY_KEY: Record<string, string> = {
  person: 'person_id',
  death: 'person_id',
  location: 'location_id',
  care_site: 'care_site_id',
  provider: 'provider_id',
  visit_occurrence: 'visit_occurrence_id',
  procedure_occurrence: 'procedure_occurrence_id',
  drug_exposure: 'drug_exposure_id',
  device_exposure: 'device_exposure_id',
  measurement: 'measurement_id',
  observation: 'observation_id',
  specimen: 'specimen_id',
  condition_occurrence: 'condition_occurrence_id',
};

/** The resource type a `ref:` in this column names when the case has no resource with that id. */
const REFERENCE_TYPE: Record<string, string> = {
  person_id: 'Patient',
  visit_occurrence_id: 'Encounter',
  provider_id: 'Practitioner',
  care_site_id: 'Organization',
  location_id: 'Location',
};

interface Deviation {
  /** Why (the same text is in DEVIATIONS.md). */
  reason: string;
  /** Turn the case's expected tables into the rows we produce instead. */
  expected?: (tables: Tables) => void;
  /** Rows we also produce in tables the case does not assert. */
  alsoProduces?: Tables;
}

/** Keyed `<case file stem> #<1-based case number>`, as listed in DEVIATIONS.md. */
const DEVIATIONS: Record<string, Deviation> = {
  'procedure--procedure-occurrence--snomed #4': {
    reason: 'domain routing: a Procedure whose code maps to a Condition concept becomes condition_occurrence',
    alsoProduces: {
      condition_occurrence: [
        {
          person_id: 'ref:patient-1',
          condition_concept_id: 201820,
          condition_start_date: '2017-11-01',
          condition_start_datetime: '2017-11-01T12:07:09',
          condition_end_date: '2017-11-01',
          condition_end_datetime: '2017-11-01T12:22:09',
          condition_type_concept_id: 32827,
          condition_status_concept_id: 0,
          visit_occurrence_id: 'ref:enc-4',
          condition_source_value: '73211009',
          condition_source_concept_id: 201820,
        },
      ],
    },
  },
  'procedure--procedure-occurrence--snomed #7': {
    reason: 'wall-clock datetimes: the +05:00 offset is dropped, not converted to UTC',
    expected: (t) => {
      Object.assign(t.procedure_occurrence![0]!, {
        procedure_date: '2017-11-02',
        procedure_datetime: '2017-11-02T03:30:00',
      });
    },
  },
  'observation--measurement--components #2': {
    reason: 'one rule for value columns: a coded answer fills value_source_value, never value_as_string',
    expected: (t) => {
      t.observation![0]!.value_as_string = null;
    },
  },
  'observation--measurement--components #3': {
    reason: 'one rule for value columns: a string answer fills value_as_string only',
    expected: (t) => {
      t.observation![1]!.value_source_value = null;
    },
  },
  'location--location--core #1': {
    reason: 'address.state goes to location.state; location_source_value is the joined address',
    expected: (t) => {
      Object.assign(t.location![0]!, {
        state: 'MA',
        location_source_value: '484 RTE 134, WORCESTER, MA, 016071728',
      });
    },
  },
  'location--location--core #3': {
    reason: 'location_source_value is the joined address; a state longer than varchar(2) stays out of state',
    expected: (t) => {
      t.location![0]!.location_source_value = '1 Avenue Claude Vellefaux, Paris, Ile-de-France, 7';
    },
  },
  'practitionerrole--provider--enrichment #1': {
    reason: 'no invented specialty: without a PractitionerRole the specialty is 0, not General Practice',
    expected: (t) => {
      Object.assign(t.provider![0]!, { specialty_concept_id: 0, specialty_source_concept_id: 0 });
    },
  },
  'device--device-exposure--core #5': {
    reason: 'domain routing: a Device type that maps to a Condition concept becomes condition_occurrence',
    alsoProduces: {
      condition_occurrence: [
        {
          person_id: 'ref:patient-4',
          condition_concept_id: 201826,
          condition_start_date: '2015-01-01',
          condition_start_datetime: '2015-01-01T00:00:00',
          condition_end_date: '2025-01-01',
          condition_end_datetime: '2025-01-01T00:00:00',
          condition_type_concept_id: 32817,
          condition_status_concept_id: 0,
          condition_source_value: '44054006',
          condition_source_concept_id: 201826,
        },
      ],
    },
  },
  'device--device-exposure--core #6': {
    reason: 'unmapped codes are kept with concept 0 (and reported), not dropped',
    expected: (t) => {
      t.device_exposure = [
        {
          person_id: 'ref:patient-6',
          device_concept_id: 0,
          device_exposure_start_date: '2018-02-02',
          device_exposure_start_datetime: '2018-02-02T00:00:00',
          device_exposure_end_date: '2028-02-02',
          device_exposure_end_datetime: '2028-02-02T00:00:00',
          device_type_concept_id: 32817,
          unique_device_id: '44444444444444',
          production_id: '4444',
          device_source_value: '705406009',
          device_source_concept_id: 45767825,
        },
      ];
    },
  },
  'medicationdispense--drug-exposure--rxnorm #1': {
    reason: 'drug_exposure_end_date = start + days_supply − 1 (CDM v5.4 convention)',
    expected: (t) => {
      Object.assign(t.drug_exposure![0]!, {
        drug_exposure_end_date: '2019-03-18',
        drug_exposure_end_datetime: '2019-03-18T10:15:42',
      });
    },
  },
  'medicationdispense--drug-exposure--rxnorm #2': {
    reason: 'drug_exposure_end_date = start + days_supply − 1 (CDM v5.4 convention)',
    expected: (t) => {
      Object.assign(t.drug_exposure![0]!, {
        drug_exposure_end_date: '2020-08-19',
        drug_exposure_end_datetime: '2020-08-19T08:05:00',
      });
    },
  },
  'medicationdispense--drug-exposure--rxnorm #4': {
    reason: 'unmapped codes are kept with concept 0 (and reported), not dropped',
    expected: (t) => {
      t.drug_exposure = [
        {
          person_id: 'ref:patient-1',
          drug_concept_id: 0,
          drug_exposure_start_date: '2022-02-02',
          drug_exposure_start_datetime: '2022-02-02T12:00:00',
          drug_exposure_end_date: '2022-02-06',
          drug_exposure_end_datetime: '2022-02-06T12:00:00',
          drug_type_concept_id: 38000176,
          quantity: 10,
          days_supply: 5,
          drug_source_value: '99999999',
          drug_source_concept_id: 0,
        },
      ];
    },
  },
  'specimen--specimen--core #1': {
    reason: 'the unit of the collected quantity is kept in unit_source_value',
    expected: (t) => {
      t.specimen![0]!.unit_source_value = 'mL';
    },
  },
};

const caseFiles = fs
  .readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const lookup = caseSeedLookup();

function withoutAnnotations(tables: Tables): Tables {
  return Object.fromEntries(
    Object.entries(tables).map(([table, rows]) => [
      table,
      rows.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !k.endsWith('__name')))),
    ]),
  );
}

/** Match expected rows to produced rows (any order), binding `id:` placeholders consistently. */
function matchTables(
  expected: Tables,
  produced: Tables,
  resolveRef: (column: string, id: string) => number,
): string[] {
  const problems: string[] = [];
  const bindings = new Map<string, OmopValue>();
  for (const [table, expectedRows] of Object.entries(expected)) {
    const remaining = [...(produced[table] ?? [])];
    for (const expectedRow of expectedRows) {
      const index = remaining.findIndex((row) => rowMatches(table, expectedRow, row, resolveRef, bindings));
      if (index === -1) {
        problems.push(`${table}: no produced row matches ${JSON.stringify(expectedRow)}`);
      } else {
        rowMatches(table, expectedRow, remaining[index]!, resolveRef, bindings, true);
        remaining.splice(index, 1);
      }
    }
    for (const extra of remaining) problems.push(`${table}: unexpected row ${JSON.stringify(extra)}`);
  }
  if (problems.length > 0) problems.push(`produced: ${JSON.stringify(produced)}`);
  return problems;
}

function rowMatches(
  table: string,
  expected: Row,
  actual: Row,
  resolveRef: (column: string, id: string) => number,
  bindings: Map<string, OmopValue>,
  bind = false,
): boolean {
  const pending = new Map<string, OmopValue>();
  const columns = new Set([...Object.keys(expected), ...Object.keys(actual)]);
  for (const column of columns) {
    const want = expected[column];
    const got = actual[column] ?? null;
    if (want === undefined && column === PRIMARY_KEY[table]) continue;
    if (typeof want === 'string' && want.startsWith('ref:')) {
      if (got !== resolveRef(column, want.slice(4))) return false;
    } else if (typeof want === 'string' && want.startsWith('id:')) {
      const bound = bindings.get(want) ?? pending.get(want);
      if (bound === undefined) pending.set(want, got);
      else if (bound !== got) return false;
    } else if ((want ?? null) !== got) return false;
  }
  if (bind) for (const [k, v] of pending) bindings.set(k, v);
  return true;
}

function produce(resources: FhirResource[], ids: InMemoryIdAllocator): Tables {
  const tables: Tables = {};
  for (const resource of resources) {
    const result = mapResource(structuredClone(resource), { concepts: lookup, ids });
    for (const { table, row } of result.rows as OmopRow[]) {
      tables[table] = [...(tables[table] ?? []), row];
    }
  }
  return tables;
}

describe.each(caseFiles)('%s', (file) => {
  const stem = file.replace(/\.json$/, '');
  const data = JSON.parse(fs.readFileSync(path.join(CASES_DIR, file), 'utf8')) as CaseFile;
  const assertedTables = [...new Set(data.cases.flatMap((c) => Object.keys(c.omop)))];
  if (assertedTables.length === 0) assertedTables.push(stem.split('--')[1]!.replace(/-/g, '_'));

  it.each(data.cases.map((c, i) => [`#${i + 1} ${c.desc.slice(0, 90)}`, i] as const))(
    '%s',
    (_label, index) => {
      const testCase = data.cases[index]!;
      const resources = [...(data.fixtures ?? []), ...testCase.fhir];
      const ids = new InMemoryIdAllocator();
      const produced = produce(resources, ids);
      const typeOf = new Map(resources.map((r) => [r.id, r.resourceType]));
      const resolveRef = (column: string, id: string) =>
        ids.idFor(typeOf.get(id) ?? REFERENCE_TYPE[column] ?? 'Unknown', id);

      const original: Tables = Object.fromEntries(assertedTables.map((t) => [t, []]));
      Object.assign(original, withoutAnnotations(testCase.omop));
      const producedInScope = Object.fromEntries(assertedTables.map((t) => [t, produced[t] ?? []]));

      const deviation = DEVIATIONS[`${stem} #${index + 1}`];
      if (!deviation) {
        expect(matchTables(original, producedInScope, resolveRef)).toEqual([]);
        return;
      }
      const ours = structuredClone(original);
      deviation.expected?.(ours);
      expect(matchTables(ours, producedInScope, resolveRef)).toEqual([]);
      if (deviation.expected) {
        // The documented difference is real: the golden rows themselves do not match.
        expect(matchTables(original, producedInScope, resolveRef)).not.toEqual([]);
      }
      for (const [table, rows] of Object.entries(deviation.alsoProduces ?? {})) {
        expect(matchTables({ [table]: rows }, { [table]: produced[table] ?? [] }, resolveRef)).toEqual([]);
      }
    },
  );
});

describe('DEVIATIONS.md', () => {
  const text = fs.readFileSync(path.join(import.meta.dirname, 'DEVIATIONS.md'), 'utf8');
  it.each(Object.keys(DEVIATIONS))('lists %s', (key) => {
    expect(text).toContain(key);
  });
  it('lists only deviations the tests assert', () => {
    const listed = [...text.matchAll(/`([a-z-]+--[a-z-]+--[a-z0-9-]+ #\d+)`/g)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(DEVIATIONS).sort());
  });
});
