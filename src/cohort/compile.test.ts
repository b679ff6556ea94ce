/**
 * The compiler's contract beyond the Circe fixtures: unsupported parts are refused with
 * their JSON path, the simple builder's JSON compiles and counts the right persons on
 * both dialects, and attrition is reported per inclusion rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_DIALECTS, type TestStore } from '../../test/support/site-store.ts';
import { ItdaError } from '../protocol/errors.ts';
import { buildCohort } from './builder.ts';
import { compileCohort } from './compile.ts';
import { parseCohortExpression } from './expression.ts';
import { generateCohort } from './generate.ts';
import {
  CIRCE_CDM_SCHEMA,
  clearTables,
  loadCirceRows,
  openCohortTestStore,
  RESULT_SCHEMA,
} from './test-db.ts';

const OPTIONS = { dialect: 'duckdb', cdmSchema: 'cdm', resultSchema: 'results', cohortId: 7 } as const;

function minimal(criterion: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { ConceptSets: [], PrimaryCriteria: { CriteriaList: [criterion] }, ...extra };
}

function refusal(expression: unknown): ItdaError {
  try {
    compileCohort(expression, OPTIONS);
  } catch (error) {
    if (error instanceof ItdaError) return error;
    throw error;
  }
  throw new Error('expected the definition to be refused');
}

describe('unsupported parts are refused, naming their JSON path', () => {
  it.each([
    ['an unknown top-level field', minimal({ ConditionOccurrence: {} }, { CohortEra: {} }), 'CohortEra'],
    [
      'a criteria domain the engine lacks',
      minimal({ LocationRegion: { CodesetId: 1 } }),
      'PrimaryCriteria.CriteriaList[0].LocationRegion',
    ],
    [
      'an attribute of a known domain',
      minimal({ VisitOccurrence: { PlaceOfServiceLocation: 3 } }),
      'PrimaryCriteria.CriteriaList[0].VisitOccurrence.PlaceOfServiceLocation',
    ],
    [
      'a drug attribute CDM v5.4 has no column for',
      minimal({ DrugExposure: { EffectiveDrugDose: { Value: 1, Op: 'gt' } } }),
      'PrimaryCriteria.CriteriaList[0].DrugExposure.EffectiveDrugDose',
    ],
    [
      'a nested inclusion-rule field',
      minimal(
        { ConditionOccurrence: {} },
        {
          InclusionRules: [
            {
              name: 'r',
              expression: {
                Type: 'ALL',
                CriteriaList: [{ Criteria: { Measurement: { Foo: 1 } }, Occurrence: { Type: 2, Count: 1 } }],
              },
            },
          ],
        },
      ),
      'InclusionRules[0].expression.CriteriaList[0].Criteria.Measurement.Foo',
    ],
    [
      'a distinct count over an unsupported column',
      minimal(
        { ConditionOccurrence: {} },
        {
          AdditionalCriteria: {
            Type: 'ALL',
            CriteriaList: [
              {
                Criteria: { DrugExposure: {} },
                Occurrence: { Type: 2, Count: 2, IsDistinct: true, CountColumn: 'QUANTITY' },
              },
            ],
          },
        },
      ),
      'AdditionalCriteria.CriteriaList[0].Occurrence.CountColumn',
    ],
  ])('%s', (_label, expression, path) => {
    const error = refusal(expression);
    expect(error.code).toBe('unsupported');
    expect(error.message).toContain(path);
  });

  it('malformed values are validation errors, not silently coerced', () => {
    const error = refusal(minimal({ Measurement: { ValueAsNumber: { Value: 'high', Op: 'gt' } } }));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('PrimaryCriteria.CriteriaList[0].Measurement.ValueAsNumber.Value');
  });

  it('a criterion must name exactly one domain', () => {
    expect(refusal(minimal({ ConditionOccurrence: {}, DrugExposure: {} })).code).toBe('validation_failed');
  });

  it('display metadata from ATLAS is accepted', () => {
    const parsed = parseCohortExpression({
      cdmVersionRange: '>=5.0.0',
      ConceptSets: [
        {
          id: 0,
          name: 'x',
          expression: {
            items: [{ concept: { CONCEPT_ID: 1, CONCEPT_NAME: 'n', INVALID_REASON_CAPTION: 'Valid' } }],
          },
        },
      ],
      PrimaryCriteria: {
        CriteriaList: [{ ConditionOccurrence: { CodesetId: 0, ConditionTypeExclude: false } }],
      },
      InclusionRules: [],
    });
    expect(parsed.ConceptSets?.[0]?.expression.items[0]?.concept.CONCEPT_ID).toBe(1);
  });
});

describe('compiled SQL', () => {
  it('is dialect-aware only where it must be and cleans up its work tables', () => {
    const expression = minimal({ ConditionOccurrence: {} });
    const duck = compileCohort(expression, OPTIONS).statements;
    const pg = compileCohort(expression, { ...OPTIONS, dialect: 'postgres' }).statements;
    expect(duck.at(-1)).toMatch(/^DROP TABLE IF EXISTS temp\.main\.cohort_7_/);
    expect(pg.at(-1)).toMatch(/^DROP TABLE IF EXISTS pg_temp\.cohort_7_/);
    expect(pg.some((s) => s.startsWith('ANALYZE'))).toBe(true);
    expect(duck.some((s) => s.startsWith('ANALYZE'))).toBe(false);
  });

  it('refuses a temp prefix that is not a plain identifier', () => {
    expect(() =>
      compileCohort(minimal({ ConditionOccurrence: {} }), { ...OPTIONS, tempPrefix: 'x; drop' }),
    ).toThrow(/tempPrefix/);
  });
});

// Atrial fibrillation (313217), warfarin (1310149), HbA1c (3004410), percent (8554).
const AF_NO_ANTICOAGULANT = buildCohort({
  title: 'AF, 65+, no anticoagulant in the 90 days before',
  entry: [{ domain: 'condition', conceptIds: [313217], label: 'Atrial fibrillation' }],
  age: { min: 65 },
  exclude: [
    { domain: 'drug', conceptIds: [1310149], label: 'anticoagulant', window: { fromDays: -90, toDays: 0 } },
  ],
});

describe('buildCohort', () => {
  it('writes Circe JSON that parses back and compiles', () => {
    const json = JSON.parse(JSON.stringify(AF_NO_ANTICOAGULANT));
    expect(json.PrimaryCriteria.PrimaryCriteriaLimit).toEqual({ Type: 'First' });
    expect(json.InclusionRules.map((r: { name: string }) => r.name)).toEqual([
      'Age 65+',
      'No anticoagulant from -90 to 0 days of entry',
    ]);
    expect(json.InclusionRules[1].expression.CriteriaList[0].StartWindow).toMatchObject({
      Start: { Days: 90, Coeff: -1 },
      End: { Days: 0, Coeff: 1 },
    });
    for (const dialect of SITE_DIALECTS)
      expect(compileCohort(json, { ...OPTIONS, dialect }).inclusionRules).toHaveLength(2);
  });

  it('rejects a value range on a domain without values', () => {
    expect(() =>
      buildCohort({ entry: [{ domain: 'condition', conceptIds: [1], value: { min: 1 } }] }),
    ).toThrow(/value range/);
  });
});

const person = (id: number, year: number, gender = 8507) => ({
  person_id: id,
  gender_concept_id: gender,
  year_of_birth: year,
  race_concept_id: 0,
  ethnicity_concept_id: 0,
});
const period = (id: number) => ({
  observation_period_id: id,
  person_id: id,
  observation_period_start_date: '2015-01-01',
  observation_period_end_date: '2022-12-31',
  period_type_concept_id: 0,
});
const condition = (id: number, personId: number, conceptId: number, date: string) => ({
  condition_occurrence_id: id,
  person_id: personId,
  condition_concept_id: conceptId,
  condition_start_date: date,
  condition_type_concept_id: 0,
});
const concept = (id: number) => ({
  concept_id: id,
  concept_name: `concept ${id}`,
  domain_id: 'x',
  vocabulary_id: 'x',
  concept_class_id: 'x',
  concept_code: String(id),
  valid_start_date: '1970-01-01',
  valid_end_date: '2099-12-31',
});

const FIXTURE = {
  'cdm.concept': [concept(313217), concept(1310149), concept(3004410)],
  'cdm.person': [person(1, 1940), person(2, 1940, 8532), person(3, 1970), person(4, 1940), person(5, 1940)],
  'cdm.observation_period': [1, 2, 3, 4, 5].map(period),
  'cdm.condition_occurrence': [
    condition(1, 1, 313217, '2020-01-10'),
    condition(2, 2, 313217, '2020-01-10'),
    condition(3, 3, 313217, '2020-01-10'),
    condition(4, 4, 313217, '2020-01-10'),
    condition(5, 4, 313217, '2021-03-01'),
  ],
  'cdm.drug_exposure': [
    {
      drug_exposure_id: 1,
      person_id: 2,
      drug_concept_id: 1310149,
      drug_exposure_start_date: '2019-12-01',
      drug_exposure_end_date: '2019-12-31',
      drug_type_concept_id: 0,
    },
    {
      drug_exposure_id: 2,
      person_id: 4,
      drug_concept_id: 1310149,
      drug_exposure_start_date: '2019-06-01',
      drug_exposure_end_date: '2019-06-30',
      drug_type_concept_id: 0,
    },
  ],
  'cdm.measurement': [
    {
      measurement_id: 1,
      person_id: 1,
      measurement_concept_id: 3004410,
      measurement_date: '2020-02-01',
      measurement_type_concept_id: 0,
      value_as_number: 7.1,
      unit_concept_id: 8554,
    },
    {
      measurement_id: 2,
      person_id: 2,
      measurement_concept_id: 3004410,
      measurement_date: '2020-02-01',
      measurement_type_concept_id: 0,
      value_as_number: 5.2,
      unit_concept_id: 8554,
    },
    {
      measurement_id: 3,
      person_id: 3,
      measurement_concept_id: 3004410,
      measurement_date: '2020-02-01',
      measurement_type_concept_id: 0,
      value_as_number: 8.0,
      unit_concept_id: 9579,
    },
  ],
};

describe.each(SITE_DIALECTS)('built cohorts run on %s', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openCohortTestStore(dialect, { relaxedCdm: true });
    if (!t) return;
    await clearTables(t, CIRCE_CDM_SCHEMA);
    await loadCirceRows(t, CIRCE_CDM_SCHEMA, FIXTURE);
  });
  afterAll(async () => {
    await t?.dispose();
  });
  const options = (cohortId: number) => ({
    dialect,
    cdmSchema: CIRCE_CDM_SCHEMA,
    resultSchema: RESULT_SCHEMA,
    cohortId,
  });

  it('AF, 65+, no anticoagulant within 90 days: persons and attrition', async () => {
    if (!t) return;
    const summary = await generateCohort(t.store, AF_NO_ANTICOAGULANT, options(11));
    const rows = await t.store.all<{ subject_id: number; cohort_start_date: string }>(
      `SELECT subject_id, cohort_start_date FROM ${RESULT_SCHEMA}.cohort WHERE cohort_definition_id = 11 ORDER BY subject_id`,
    );
    // Person 2 took warfarin 40 days before, person 3 is 50, person 5 has no AF.
    expect(rows.map((r) => [Number(r.subject_id), String(r.cohort_start_date).slice(0, 10)])).toEqual([
      [1, '2020-01-10'],
      [4, '2020-01-10'],
    ]);
    expect(summary).toMatchObject({ baseCount: 4, finalCount: 2, personCount: 2 });
    expect(summary.inclusionRules).toEqual([
      { ruleSequence: 0, name: 'Age 65+', personCount: 3, gainCount: 1, remainingCount: 3 },
      {
        ruleSequence: 1,
        name: 'No anticoagulant from -90 to 0 days of entry',
        personCount: 3,
        gainCount: 1,
        remainingCount: 2,
      },
    ]);
  });

  it('concept sets: descendants, "Maps to" sources and exclusions', async () => {
    if (!t) return;
    await loadCirceRows(t, CIRCE_CDM_SCHEMA, {
      'cdm.concept': [concept(10), concept(11), concept(12), concept(90)],
      'cdm.concept_ancestor': [
        {
          ancestor_concept_id: 10,
          descendant_concept_id: 11,
          min_levels_of_separation: 1,
          max_levels_of_separation: 1,
        },
        {
          ancestor_concept_id: 10,
          descendant_concept_id: 12,
          min_levels_of_separation: 1,
          max_levels_of_separation: 1,
        },
      ],
      'cdm.concept_relationship': [
        {
          concept_id_1: 90,
          concept_id_2: 11,
          relationship_id: 'Maps to',
          valid_start_date: '1970-01-01',
          valid_end_date: '2099-12-31',
        },
      ],
      'cdm.person': [11, 12, 13, 14].map((id) => person(id, 1960)),
      'cdm.observation_period': [11, 12, 13, 14].map(period),
      'cdm.condition_occurrence': [
        condition(11, 11, 11, '2020-01-01'),
        condition(12, 12, 12, '2020-01-01'),
        condition(13, 13, 90, '2020-01-01'),
        condition(14, 14, 10, '2020-01-01'),
      ],
    });
    const expression = {
      ConceptSets: [
        {
          id: 0,
          expression: {
            items: [
              { concept: { CONCEPT_ID: 10 }, includeDescendants: true, includeMapped: true },
              { concept: { CONCEPT_ID: 12 }, isExcluded: true },
            ],
          },
        },
      ],
      PrimaryCriteria: { CriteriaList: [{ ConditionOccurrence: { CodesetId: 0 } }] },
    };
    await generateCohort(t.store, expression, options(13));
    const rows = await t.store.all<{ subject_id: number }>(
      `SELECT subject_id FROM ${RESULT_SCHEMA}.cohort WHERE cohort_definition_id = 13 ORDER BY subject_id`,
    );
    // 11 is a descendant, 90 maps to it, 10 is the concept itself; 12 is excluded.
    expect(rows.map((r) => Number(r.subject_id))).toEqual([11, 13, 14]);
  });

  it('a measurement value and unit range selects the matching results', async () => {
    if (!t) return;
    const expression = buildCohort({
      entry: [
        {
          domain: 'measurement',
          conceptIds: [3004410],
          value: { min: 6.5, max: 30 },
          unitConceptIds: [8554],
        },
      ],
      sex: ['male'],
    });
    const summary = await generateCohort(t.store, expression, options(12));
    // Person 2's value is too low; person 3's is in mmol/mol.
    expect(summary).toMatchObject({ baseCount: 1, finalCount: 1, personCount: 1 });
  });
});
