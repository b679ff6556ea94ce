/**
 * The helpers of bench/feasibility: the synthetic OMOP rows are the same on every dialect
 * and plausible, and the hand-written SQL finds exactly the persons, dates and attrition
 * the Circe-compiled cohort finds — otherwise the bench's ratio would compare two
 * different questions.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AF_CONCEPT_ID,
  afNoAnticoagulantCohort,
  handWrittenCohortSql,
  handWrittenCohortWithAttritionSql,
  loadSyntheticOmop,
  personRows,
  WARFARIN_CONCEPT_ID,
} from '../bench/feasibility-data.ts';
import { EUNOMIA } from '../bench/support.ts';
import { cohortResultTablesDdl } from '../src/cohort/compile.ts';
import { type CohortGenerationSummary, generateCohort } from '../src/cohort/generate.ts';
import { loadVocabulary } from '../src/site/ingest/omop-csv.ts';
import { periodOf } from '../src/synth/person.ts';
import { openTestStore, SITE_DIALECTS, type TestStore } from './support/site-store.ts';

const PATIENTS = 3000;
const SEED = 'feasibility-bench-test';
const COUNTS_BY_DIALECT = new Map<string, Record<string, number>>();

describe('synthetic OMOP rows', () => {
  const period = periodOf('2015-01-01', '2025-12-31');
  it('are the same for the same seed and index, and differ between people', () => {
    expect(personRows(SEED, 7, period, { next: 1 })).toEqual(personRows(SEED, 7, period, { next: 1 }));
    expect(personRows(SEED, 7, period, { next: 1 }).person).not.toEqual(
      personRows(SEED, 8, period, { next: 1 }).person,
    );
  });

  it('keep every event inside the person’s observation period, with unique ids', () => {
    const ids = { next: 1 };
    const seen = new Set<number>();
    for (let index = 0; index < 400; index++) {
      const rows = personRows(SEED, index, period, ids);
      const [, , start, end] = rows.observation_period[0]!;
      expect(String(start) <= String(end)).toBe(true);
      for (const row of [...rows.condition_occurrence, ...rows.drug_exposure]) {
        expect(seen.has(row[0] as number)).toBe(false);
        seen.add(row[0] as number);
        expect(String(row[3]) >= String(start) && String(row[3]) <= String(end)).toBe(true);
      }
      for (const drug of rows.drug_exposure) expect(String(drug[4]) >= String(drug[3])).toBe(true);
    }
  });
});

describe.each(SITE_DIALECTS)('bench/feasibility cohort on %s', (dialect) => {
  let t: TestStore | undefined;
  let summary: CohortGenerationSummary;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (!t) return;
    await loadVocabulary(t.store, EUNOMIA, { quarantineDir: path.join(t.dir, 'quarantine') });
    await loadSyntheticOmop(t.store, { patients: PATIENTS, seed: SEED, batchSize: 700 });
    for (const statement of cohortResultTablesDdl(dialect, 'results')) await t.store.run(statement);
    summary = await generateCohort(t.store, afNoAnticoagulantCohort(), {
      dialect,
      cdmSchema: t.store.cdmSchema,
      resultSchema: 'results',
      cohortId: 3,
    });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('loads the same rows on every dialect (same seed)', async () => {
    if (!t) return;
    const [counts] = await t.store.all<Record<string, number>>(
      `SELECT (SELECT COUNT(*) FROM cdm.person) AS persons,
              (SELECT COUNT(*) FROM cdm.condition_occurrence WHERE condition_concept_id = ${AF_CONCEPT_ID}) AS af,
              (SELECT COUNT(*) FROM cdm.drug_exposure WHERE drug_concept_id = ${WARFARIN_CONCEPT_ID}) AS warfarin,
              (SELECT SUM(person_id) FROM cdm.drug_exposure WHERE drug_concept_id = ${WARFARIN_CONCEPT_ID}) AS warfarin_persons`,
    );
    expect(counts!.persons).toBe(PATIENTS);
    expect(counts!.af).toBeGreaterThan(0);
    expect(counts!.warfarin).toBeGreaterThan(0);
    // The dialects run in order in this file: the later one must see exactly the same rows.
    const earlier = [...COUNTS_BY_DIALECT.values()][0];
    if (earlier) expect(counts).toEqual(earlier);
    COUNTS_BY_DIALECT.set(dialect, counts!);
  });

  it('gives a cohort whose rules each remove people', () => {
    if (!t) return;
    const remaining = summary.inclusionRules.map((r) => r.remainingCount);
    expect(summary.baseCount).toBeGreaterThan(remaining[0]!);
    expect(remaining[0]!).toBeGreaterThan(remaining[1]!);
    expect(remaining[1]!).toBeGreaterThan(0);
    expect(summary.personCount).toBe(remaining[1]);
  });

  it('hand-written SQL finds the same cohort rows and attrition as the compiled Circe cohort', async () => {
    if (!t) return;
    await t.store.transaction(async (tx) => {
      for (const statement of handWrittenCohortSql(tx.cdmSchema, 'hand_only')) await tx.run(statement);
      const statements = handWrittenCohortWithAttritionSql(tx.cdmSchema, 'hand_full');
      for (const statement of statements.slice(0, -1)) await tx.run(statement);
      const [attrition] = await tx.all<{ base: number; rule_1: number; rule_2: number }>(statements.at(-1)!);
      expect([attrition!.base, attrition!.rule_1, attrition!.rule_2].map(Number)).toEqual([
        summary.baseCount,
        ...summary.inclusionRules.map((r) => r.remainingCount),
      ]);
      const circe = await tx.all(
        `SELECT subject_id, cohort_start_date, cohort_end_date FROM results.cohort WHERE cohort_definition_id = 3 ORDER BY subject_id`,
      );
      for (const table of ['hand_only', 'hand_full'])
        expect(
          await tx.all(
            `SELECT subject_id, cohort_start_date, cohort_end_date FROM ${table} ORDER BY subject_id`,
          ),
        ).toEqual(circe);
    });
  });
});
