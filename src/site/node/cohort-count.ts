/**
 * The `cohort_count` task: under a permit, the exact size of a Circe cohort and its
 * inclusion-rule attrition (mode 1, best event per person, as ATLAS reports it). Exact,
 * because a DRB approved it — but a count from 1 to 9 still leaves the site as "<10"
 * (the minimum cell rule in ARCHITECTURE.md holds under a permit too).
 */
import { randomBytes } from 'node:crypto';
import { cohortResultTablesDdl } from '../../cohort/compile.ts';
import { generateCohort } from '../../cohort/generate.ts';
import { cohortHash } from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { SiteStore } from '../store/store.ts';
import type { TaskHandler } from './tasks.ts';

export const MIN_CELL_COUNT = 10;

/** A count as it may leave the site: exact from 10 up (or 0), "<10" for 1–9. */
export type ReleasedCount = number | '<10';

export function releaseCount(n: number, minimum = MIN_CELL_COUNT): ReleasedCount {
  return n > 0 && n < minimum ? '<10' : n;
}

export interface CohortCountResult {
  permitId: string;
  cohortHash: string;
  baseCount: ReleasedCount;
  finalCount: ReleasedCount;
  inclusionRules: { ruleSequence: number; name: string; remainingCount: ReleasedCount }[];
}

/** Runs the cohort in a scratch result schema that is dropped afterwards. */
export function cohortCountHandler(store: SiteStore): TaskHandler {
  return async (task) => {
    if (task.type !== 'cohort_count') throw new ItdaError('unsupported', task.type);
    if (!task.permitId) throw new ItdaError('permit_invalid', 'a cohort_count task runs only under a permit');
    const scratch = `itda_count_${randomBytes(6).toString('hex')}`;
    for (const statement of cohortResultTablesDdl(store.kind, scratch)) await store.run(statement);
    try {
      const summary = await generateCohort(store, task.payload.cohort, {
        dialect: store.kind,
        cdmSchema: store.cdmSchema,
        resultSchema: scratch,
        cohortId: 1,
      });
      return {
        permitId: task.permitId,
        cohortHash: cohortHash(task.payload.cohort),
        baseCount: releaseCount(summary.baseCount),
        finalCount: releaseCount(summary.finalCount),
        inclusionRules: summary.inclusionRules.map((rule) => ({
          ruleSequence: rule.ruleSequence,
          name: rule.name,
          remainingCount: releaseCount(rule.remainingCount),
        })),
      } satisfies CohortCountResult;
    } finally {
      await store.run(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`);
    }
  };
}
