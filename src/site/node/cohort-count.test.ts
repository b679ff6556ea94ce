import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { disclosurePolicy } from '../../privacy/disclosure.ts';
import { cohortHash } from '../../protocol/access.ts';
import type { TaskBody } from '../../protocol/wire.ts';
import {
  commonConditionOver65,
  loadFeasibilityFixture,
  rareCondition,
  testTask,
} from '../feasibility/test-fixture.ts';
import { cohortCountHandler } from './cohort-count.ts';

function task(cohort: Record<string, unknown>, permitId: string | null = randomUUID()): TaskBody {
  return testTask({ type: 'cohort_count', payload: { cohort }, permitId });
}

describe.each(SITE_DIALECTS)('cohort_count task on %s', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (t) await loadFeasibilityFixture(t.store, { old: 26, young: 11, rare: 4 });
  }, 120_000);
  afterAll(async () => t?.dispose());

  it('answers exact counts with attrition, and the cohort hash it ran', async () => {
    if (!t) return;
    const cohort = commonConditionOver65() as unknown as Record<string, unknown>;
    const result = await cohortCountHandler(t.store)(task(cohort));
    // A feasibility answer would say 40 and 30; under a permit the counts are exact.
    expect(result).toMatchObject({
      baseCount: 37,
      finalCount: 26,
      cohortHash: cohortHash(cohort),
      inclusionRules: [{ ruleSequence: 0, remainingCount: 26 }],
    });
  });

  it('still releases 1–9 as "<10", or below the steward’s raised minimum', async () => {
    if (!t) return;
    const rare = await cohortCountHandler(t.store)(
      task(rareCondition() as unknown as Record<string, unknown>),
    );
    expect(rare).toMatchObject({ finalCount: '<10', baseCount: '<10' });
    const strict = await cohortCountHandler(
      t.store,
      disclosurePolicy({ minCellCount: 30 }),
    )(task(commonConditionOver65() as unknown as Record<string, unknown>));
    expect(strict).toMatchObject({ finalCount: '<30', baseCount: 37 });
  });

  it('refuses to run without a permit and leaves no scratch schema behind', async () => {
    if (!t) return;
    await expect(
      cohortCountHandler(t.store)(task(commonConditionOver65() as unknown as Record<string, unknown>, null)),
    ).rejects.toMatchObject({ code: 'permit_invalid' });
    const schemas = await t.store.all<{ n: number }>(
      "SELECT count(*) AS n FROM information_schema.schemata WHERE schema_name LIKE 'itda_scratch_%'",
    );
    expect(schemas[0]?.n).toBe(0);
  });
});
