/**
 * The `feasibility` task on both site dialects: the answer carries only disclosed counts
 * (rounded to 10, "<10" for 1–9, the steward's stricter minimum when set), attrition per
 * inclusion rule, no scratch schema is left behind, and unsupported parts are refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { DISCLOSURE_DEFAULTS, disclosurePolicy } from '../../privacy/disclosure.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { TaskBody } from '../../protocol/wire.ts';
import { loadSiteConfig } from '../config.ts';
import type { SiteStore } from '../store/store.ts';
import { feasibilityHandler } from './feasibility-task.ts';
import { runCohortOnStore } from './run-cohort.ts';
import { commonConditionOver65, loadFeasibilityFixture, rareCondition, testTask } from './test-fixture.ts';

function task(definition: unknown): TaskBody {
  return testTask({
    type: 'feasibility',
    payload: { queryId: randomUUID(), definition: definition as Record<string, unknown> },
    siteId: 'site-test',
  });
}

describe.each(SITE_DIALECTS)('feasibility task on %s', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (t) await loadFeasibilityFixture(t.store, { old: 26, young: 11, rare: 4 });
  }, 120_000);
  afterAll(async () => t?.dispose());

  it('counts exactly at the site and discloses rounded counts', async () => {
    if (!t) return;
    const exact = await runCohortOnStore(t.store, commonConditionOver65());
    expect(exact.summary).toMatchObject({ baseCount: 37, finalCount: 26 });
    const answer = await feasibilityHandler(t.store, DISCLOSURE_DEFAULTS)(task(commonConditionOver65()));
    expect(answer.baseCount).toBe(40);
    expect(answer.finalCount).toBe(30);
    expect(answer.inclusionRules).toEqual([
      { ruleSequence: 0, name: expect.any(String), personCount: 30, remainingCount: 30 },
    ]);
    expect(answer.disclosure).toEqual({ minCellCount: 10, rounding: 10 });
  });

  it('answers "<10" for 1–9 persons, or the steward\'s raised minimum', async () => {
    if (!t) return;
    const answer = await feasibilityHandler(t.store, DISCLOSURE_DEFAULTS)(task(rareCondition()));
    expect(answer.finalCount).toBe('<10');
    expect(answer.baseCount).toBe('<10');
    const strict = disclosurePolicy({ minCellCount: 30 });
    const strictAnswer = await feasibilityHandler(t.store, strict)(task(commonConditionOver65()));
    expect(strictAnswer.finalCount).toBe('<30');
    expect(strictAnswer.baseCount).toBe(40);
  });

  it('counts without writing a table', async () => {
    if (!t) return;
    const tables = 'SELECT table_schema, table_name FROM information_schema.tables ORDER BY 1, 2';
    const before = await t.store.all(tables);
    await feasibilityHandler(t.store, DISCLOSURE_DEFAULTS)(task(commonConditionOver65()));
    expect(await t.store.all(tables)).toEqual(before);
  });

  it('leaves no scratch schema behind, also when a run with rows fails', async () => {
    if (!t) return;
    const store = t.store;
    // A store whose cohort transaction breaks half-way, as a lost connection would.
    let statements = 0;
    const failing: SiteStore = Object.create(store, {
      transaction: {
        value: <T>(fn: (tx: SiteStore) => Promise<T>) =>
          store.transaction((tx) =>
            fn(
              Object.create(tx, {
                run: {
                  value: (sql: string) => {
                    statements += 1;
                    if (statements === 5) throw new Error('connection lost');
                    return tx.run(sql);
                  },
                },
              }) as SiteStore,
            ),
          ),
      },
    }) as SiteStore;
    await expect(runCohortOnStore(failing, commonConditionOver65(), { withRows: true })).rejects.toThrow(
      /connection lost/,
    );
    expect(statements).toBe(5);
    const schemas = await store.all<{ schema_name: string }>(
      "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'itda_scratch_%'",
    );
    expect(schemas).toEqual([]);
  });

  it('refuses unsupported Circe parts, naming them', async () => {
    if (!t) return;
    const definition = {
      ConceptSets: [],
      PrimaryCriteria: { CriteriaList: [{ LocationRegion: { CodesetId: 1 } }] },
    };
    const error = await feasibilityHandler(
      t.store,
      DISCLOSURE_DEFAULTS,
    )(task(definition)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ItdaError);
    expect((error as ItdaError).code).toBe('unsupported');
    expect((error as ItdaError).message).toContain('LocationRegion');
  });

  it('returns cohort and inclusion-result rows for stewards', async () => {
    if (!t) return;
    const run = await runCohortOnStore(t.store, commonConditionOver65(), { withRows: true });
    expect(run.rows?.cohort).toHaveLength(26);
    expect(run.rows?.cohort[0]).toMatchObject({
      cohort_start_date: '2020-06-01',
      cohort_end_date: '2024-12-31',
    });
    // Mode 1: 26 persons pass the one rule (mask 1), 11 fail it (mask 0).
    const mode1 = run.rows?.inclusionResults.filter((r) => r.mode_id === 1);
    expect(mode1).toEqual([
      { inclusion_rule_mask: 0, person_count: 11, mode_id: 1 },
      { inclusion_rule_mask: 1, person_count: 26, mode_id: 1 },
    ]);
  });
});

describe('steward thresholds from the site config', () => {
  it('defaults to the platform policy and takes raised values', () => {
    expect(loadSiteConfig('/tmp/site-x', {}).disclosure).toEqual(DISCLOSURE_DEFAULTS);
    const raised = loadSiteConfig('/tmp/site-x', {
      ITDA_MIN_CELL_COUNT: '20',
      ITDA_MIN_ROWS_MODEL_UPDATE: '100',
    });
    expect(raised.disclosure).toMatchObject({ minCellCount: 20, rounding: 10, minRowsForModelUpdate: 100 });
  });

  it('refuses a lowered or malformed threshold, naming the variable', () => {
    expect(() => loadSiteConfig('/tmp/site-x', { ITDA_MIN_CELL_COUNT: '5' })).toThrow(
      /ITDA_MIN_CELL_COUNT: 5 is below the platform minimum 10/,
    );
    expect(() => loadSiteConfig('/tmp/site-x', { ITDA_FEASIBILITY_ROUNDING: 'ten' })).toThrow(
      /ITDA_FEASIBILITY_ROUNDING/,
    );
    expect(() => loadSiteConfig('/tmp/site-x', { ITDA_GLM_ROWS_PER_PARAMETER: '12.5' })).toThrow(
      /ITDA_GLM_ROWS_PER_PARAMETER: must be a positive whole number/,
    );
  });
});
