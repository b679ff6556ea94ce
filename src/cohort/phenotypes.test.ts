/**
 * Four real OHDSI Phenotype Library cohorts (ATLAS JSON) compile for both dialects and run
 * on the Eunomia Synthea27Nj CDM v5.4 data; DuckDB and PostgreSQL must agree row for row,
 * and the inpatient-visit cohort must match a hand-written query.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SITE_DIALECTS, type TestStore } from '../../test/support/site-store.ts';
import { compileCohort } from './compile.ts';
import { type CohortGenerationSummary, countCompiledCohort, generateCohort } from './generate.ts';
import {
  deriveEunomiaConceptAncestor,
  loadEunomiaTable,
  openCohortTestStore,
  PHENOTYPES,
  RESULT_SCHEMA,
  readJson,
} from './test-db.ts';

const PHENOTYPE_IDS = [23, 362, 482, 1032];
const EUNOMIA_TABLES = [
  'concept',
  'person',
  'observation_period',
  'visit_occurrence',
  'condition_occurrence',
  'drug_exposure',
  'procedure_occurrence',
  'measurement',
  'observation',
  'death',
];

const definition = (id: number) => readJson(path.join(PHENOTYPES, `${id}.json`));

describe('phenotype library cohorts compile', () => {
  it.each(PHENOTYPE_IDS)('cohort %i compiles for DuckDB and PostgreSQL', (id) => {
    for (const dialect of SITE_DIALECTS) {
      const compiled = compileCohort(definition(id), {
        dialect,
        cdmSchema: 'cdm',
        resultSchema: RESULT_SCHEMA,
        cohortId: id,
      });
      expect(compiled.statements.length).toBeGreaterThan(10);
      expect(compiled.statements.join('\n')).toContain(`${RESULT_SCHEMA}".cohort`);
    }
  });
});

interface DialectRun {
  summaries: Record<number, CohortGenerationSummary>;
  cohorts: Record<number, unknown[]>;
}
const runs: Partial<Record<(typeof SITE_DIALECTS)[number], DialectRun>> = {};

describe.each(SITE_DIALECTS)('phenotype library cohorts on Eunomia (%s)', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openCohortTestStore(dialect, { relaxedCdm: false });
    if (!t) return;
    for (const table of EUNOMIA_TABLES) await loadEunomiaTable(t, table);
    await deriveEunomiaConceptAncestor(t);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('generates all four cohorts', async () => {
    if (!t) return; // PostgreSQL unreachable outside CI
    const run: DialectRun = { summaries: {}, cohorts: {} };
    for (const id of PHENOTYPE_IDS) {
      const options = { dialect, cdmSchema: t.store.cdmSchema, resultSchema: RESULT_SCHEMA, cohortId: id };
      run.summaries[id] = await generateCohort(t.store, definition(id), options);
      // The count-only path (feasibility) reports the same.
      expect(await countCompiledCohort(t.store, compileCohort(definition(id), options))).toEqual(
        run.summaries[id],
      );
      run.cohorts[id] = await t.store.all(
        `SELECT subject_id, cohort_start_date, cohort_end_date FROM ${RESULT_SCHEMA}.cohort WHERE cohort_definition_id = ${id} ORDER BY 1, 2, 3`,
      );
    }
    runs[dialect] = run;
    // Eunomia's 28 persons hold no GI bleeding or kidney-injury records; 7 have an
    // inpatient visit and 1 has type 2 diabetes (found through the derived ancestors).
    expect(Object.fromEntries(PHENOTYPE_IDS.map((id) => [id, run.summaries[id]!.personCount]))).toEqual({
      23: 7,
      362: 0,
      482: 0,
      1032: 1,
    });
    // Attrition is reported for the cohorts with inclusion rules.
    expect(run.summaries[362]!.inclusionRules.map((r) => r.ruleSequence)).toEqual([0, 1, 2, 3]);
    expect(run.summaries[1032]!.inclusionRules.length).toBeGreaterThan(0);
    for (const summary of Object.values(run.summaries)) {
      expect(summary.finalCount).toBeLessThanOrEqual(summary.baseCount);
      expect(summary.personCount).toBeLessThanOrEqual(summary.finalCount);
    }
  });

  it('the inpatient-visit cohort equals a hand-written query', async () => {
    if (!t) return;
    const cdm = t.store.cdmSchema;
    // Cohort 23: every inpatient visit (9201/262) in an observation period, exit one day
    // after the visit ends (capped at the period's end), overlapping eras merged.
    const [expected] = await t.store.all<{ persons: number }>(
      `SELECT COUNT(DISTINCT v.person_id) AS persons FROM ${cdm}.visit_occurrence v
       JOIN ${cdm}.observation_period op ON op.person_id = v.person_id
        AND v.visit_start_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
       WHERE v.visit_concept_id IN (9201, 262)`,
    );
    const summary = runs[dialect]!.summaries[23]!;
    expect(summary.personCount).toBe(Number(expected!.persons));
    expect(summary.personCount).toBeGreaterThan(0);
  });
});

describe('phenotype results agree across dialects', () => {
  it('DuckDB and PostgreSQL produce the same cohort rows and attrition', () => {
    const duck = runs.duckdb;
    const pg = runs.postgres;
    if (!duck || !pg) return; // one leg did not run (PostgreSQL unreachable outside CI)
    for (const id of PHENOTYPE_IDS) {
      expect(pg.cohorts[id]).toEqual(duck.cohorts[id]);
      expect(pg.summaries[id]).toEqual(duck.summaries[id]);
    }
  });
});
