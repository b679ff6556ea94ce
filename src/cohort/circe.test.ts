/**
 * OHDSI circe-be's cohort-generation conformance tests, on DuckDB and PostgreSQL: each
 * fixture's `_PREP.json` rows are loaded, the expression (and the variants the upstream
 * CohortGeneration_5_0_0_Test / _5_2_0_Test build from it) is generated, and the `cohort`
 * (and, where given, `cohort_inclusion_result`) rows must equal `_VERIFY.json`. The
 * count-only path must report the same size and attrition as the full run.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_DIALECTS, type TestStore } from '../../test/support/site-store.ts';
import { compileCohort } from './compile.ts';
import { countCompiledCohort, readCohortSummary, runCompiledCohort } from './generate.ts';
import {
  CIRCE_CDM_SCHEMA,
  CIRCE_TESTS,
  clearTables,
  loadCirceRows,
  openCohortTestStore,
  RESULT_SCHEMA,
  readJson,
} from './test-db.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixtures are mutated the way the upstream tests mutate them
type Json = any;
type Fixture = Record<string, Record<string, string | number | null>[]>;

const dir = path.join(CIRCE_TESTS, 'cohortgeneration');
const load = (file: string): Json => readJson(path.join(dir, file));
const clone = <T>(value: T): T => structuredClone(value);

interface CirceCase {
  name: string;
  prep: string;
  verify: string;
  /** The expressions generated, by cohort id. */
  variants: () => [number, Json][];
}

const FIRST_OCCURRENCE_DOMAINS = [
  'ConditionEra',
  'ConditionOccurrence',
  'DeviceExposure',
  'DrugEra',
  'DrugExposure',
  'Measurement',
  'Observation',
  'ProcedureOccurrence',
  'Specimen',
  'VisitOccurrence',
  'PayerPlanPeriod',
];

const CASES: CirceCase[] = [
  {
    name: 'condition status (CDM 5.2 test)',
    prep: 'conditionOccurrence/conditionStatusTest_PREP.json',
    verify: 'conditionOccurrence/conditionStatusTest_VERIFY.json',
    variants: () => {
      const base = (condition: Json) => ({
        ConceptSets: [],
        PrimaryCriteria: { CriteriaList: [{ ConditionOccurrence: condition }], ObservationWindow: {} },
      });
      return [
        [1, base({})],
        [2, base({ ConditionStatus: [] })],
        [3, base({ ConditionStatus: [{ CONCEPT_ID: 1 }] })],
      ];
    },
  },
  {
    name: 'correlated criteria counts',
    prep: 'correlatedCriteria/countsTest_PREP.json',
    verify: 'correlatedCriteria/countsTest_VERIFY.json',
    variants: () => {
      const e = load('correlatedCriteria/countsExpression.json');
      const v2 = clone(e);
      v2.AdditionalCriteria.CriteriaList[0].Occurrence = { Type: 2, Count: 1 };
      const v3 = clone(e);
      v3.AdditionalCriteria.CriteriaList[0].Occurrence = { Type: 1, Count: 0 };
      return [
        [1, e],
        [2, v2],
        [3, v3],
        [4, load('correlatedCriteria/visitExpression.json')],
      ];
    },
  },
  {
    name: 'criteria groups',
    prep: 'correlatedCriteria/groupTest_PREP.json',
    verify: 'correlatedCriteria/groupTest_VERIFY.json',
    variants: () => {
      const e = load('correlatedCriteria/groupExpression.json');
      const v2 = clone(e);
      Object.assign(v2.AdditionalCriteria, { Type: 'AT_LEAST', Count: 2 });
      const v3 = clone(v2);
      Object.assign(v3.AdditionalCriteria, { Type: 'AT_MOST', Count: 2 });
      const v4 = clone(v3);
      v4.AdditionalCriteria.Type = 'ALL';
      Object.assign(v4.AdditionalCriteria.Groups[0], { Type: 'AT_MOST', Count: 0 });
      const v5 = clone(v4);
      v5.AdditionalCriteria.Groups = [];
      return [
        [1, e],
        [2, v2],
        [3, v3],
        [4, v4],
        [5, v5],
      ];
    },
  },
  {
    name: 'first occurrence of every domain',
    prep: 'firstOccurrence/firstOccurrenceTest_PREP.json',
    verify: 'firstOccurrence/firstOccurrenceTest_VERIFY.json',
    variants: () =>
      FIRST_OCCURRENCE_DOMAINS.map((domain, i) => {
        const e = load('firstOccurrence/firstOccurrenceTestExpression.json');
        e.PrimaryCriteria.CriteriaList = [{ [domain]: { First: true } }];
        return [i + 1, e];
      }),
  },
  {
    name: 'simple inclusion rule',
    prep: 'inclusionRules/simpleInclusionRule_PREP.json',
    verify: 'inclusionRules/simpleInclusionRule_VERIFY.json',
    variants: () => [[1, load('inclusionRules/simpleInclusionRule.json')]],
  },
  {
    name: 'continuous exposure exit',
    prep: 'exits/continuousExposure_PREP.json',
    verify: 'exits/continuousExposure_VERIFY.json',
    variants: () => {
      const e = load('exits/continuousExposureExpression.json');
      const v2 = clone(e);
      v2.PrimaryCriteria.PrimaryCriteriaLimit.Type = 'First';
      return [
        [1, e],
        [2, v2],
      ];
    },
  },
  {
    name: 'continuous exposure exit censored by the observation period',
    prep: 'exits/continuousExposureCensor_PREP.json',
    verify: 'exits/continuousExposureCensor_VERIFY.json',
    variants: () => [[1, load('exits/continuousExposureCensorExpression.json')]],
  },
  {
    name: 'fixed offset exit',
    prep: 'exits/fixedOffset_PREP.json',
    verify: 'exits/fixedOffset_VERIFY.json',
    variants: () => [[1, load('exits/fixedOffsetExpression.json')]],
  },
  {
    name: 'fixed offset exit censored by the observation period',
    prep: 'exits/fixedOffsetCensor_PREP.json',
    verify: 'exits/fixedOffsetCensor_VERIFY.json',
    variants: () => [[1, load('exits/fixedOffsetCensorExpression.json')]],
  },
  {
    name: 'censoring events',
    prep: 'exits/censorEvent_PREP.json',
    verify: 'exits/censorEvent_VERIFY.json',
    variants: () => [[1, load('exits/censorEventExpression.json')]],
  },
  {
    name: 'standard and source concept sets',
    prep: 'mixedConceptsets/mixedConceptsets_PREP.json',
    verify: 'mixedConceptsets/mixedConceptsets_VERIFY.json',
    variants: () => [[1, load('mixedConceptsets/mixedConceptsetsExpression.json')]],
  },
];

function tableRows(verify: Json, suffix: string): Record<string, unknown>[] | undefined {
  const key = Object.keys(verify).find((k) => k.endsWith(`.${suffix}`));
  return key ? verify[key] : undefined;
}

describe('upstream invalid variants are refused', () => {
  it('an occurrence type outside exactly/at most/at least', () => {
    const e = load('correlatedCriteria/visitExpression.json');
    e.AdditionalCriteria.CriteriaList[0].Occurrence.Type = -99;
    expect(() => compileCohort(e, options('duckdb', 4))).toThrow(/Occurrence\.Type/);
  });
  it('a custom era exit without a drug concept set', () => {
    const e = load('exits/continuousExposureExpression.json');
    e.EndStrategy.CustomEra.DrugCodesetId = null;
    expect(() => compileCohort(e, options('duckdb', 3))).toThrow(/DrugCodesetId/);
  });
});

function options(dialect: 'duckdb' | 'postgres', cohortId: number) {
  return { dialect, cdmSchema: CIRCE_CDM_SCHEMA, resultSchema: RESULT_SCHEMA, cohortId };
}

const vocabulary = readJson<Fixture>(path.join(CIRCE_TESTS, 'datasets', 'vocabulary.json'));

describe.each(SITE_DIALECTS)('Circe cohort generation on %s', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openCohortTestStore(dialect, { relaxedCdm: true });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it.each(CASES)('$name', async (testCase) => {
    if (!t) return; // PostgreSQL unreachable outside CI (see test/support/postgres.ts)
    await clearTables(t, CIRCE_CDM_SCHEMA);
    await loadCirceRows(t, CIRCE_CDM_SCHEMA, vocabulary);
    await loadCirceRows(t, CIRCE_CDM_SCHEMA, load(testCase.prep));
    for (const [cohortId, expression] of testCase.variants()) {
      const compiled = compileCohort(expression, options(dialect, cohortId));
      await runCompiledCohort(t.store, compiled);
      // The count-only path (feasibility) reports what the full run wrote.
      expect(await countCompiledCohort(t.store, compiled)).toEqual(
        await readCohortSummary(t.store, compiled, RESULT_SCHEMA),
      );
    }

    const verify = load(testCase.verify);
    const cohort = await t.store.all(
      `SELECT cohort_definition_id, subject_id, cohort_start_date, cohort_end_date FROM ${RESULT_SCHEMA}.cohort ORDER BY cohort_definition_id, subject_id, cohort_start_date`,
    );
    expect(cohort.map(normalize)).toEqual(tableRows(verify, 'cohort')!.map(normalize));

    const expectedInclusion = tableRows(verify, 'cohort_inclusion_result');
    if (expectedInclusion) {
      const inclusion = await t.store.all(
        `SELECT cohort_definition_id, inclusion_rule_mask, person_count, mode_id FROM ${RESULT_SCHEMA}.cohort_inclusion_result ORDER BY cohort_definition_id, mode_id, inclusion_rule_mask`,
      );
      const order = (rows: Record<string, unknown>[]) =>
        rows
          .map(normalize)
          .sort(
            (a, b) =>
              Number(a.cohort_definition_id) - Number(b.cohort_definition_id) ||
              Number(a.mode_id) - Number(b.mode_id) ||
              Number(a.inclusion_rule_mask) - Number(b.inclusion_rule_mask),
          );
      expect(order(inclusion)).toEqual(order(expectedInclusion));
    }
  });
});

/** Same value types on both sides: numbers as numbers, dates as 'YYYY-MM-DD'. */
function normalize(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      typeof v === 'bigint' ? Number(v) : typeof v === 'string' ? v.slice(0, 10) : v,
    ]),
  );
}
