/**
 * The `cohort_count` task: under a permit, the exact size of a Circe cohort and its
 * inclusion-rule attrition (mode 1, best event per person, as ATLAS reports it). Exact,
 * because a DRB approved it — but a count from 1 to the steward's minimum cell count − 1
 * still leaves the site as "<N" (the minimum cell rule holds under a permit too).
 */
import {
  DISCLOSURE_DEFAULTS,
  type DisclosurePolicy,
  type ReleasedCount,
  suppressCell,
} from '../../privacy/disclosure.ts';
import { cohortHash } from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { runCohortOnStore } from '../feasibility/run-cohort.ts';
import type { SiteStore } from '../store/store.ts';
import type { TaskHandler } from './tasks.ts';

export interface CohortCountResult {
  permitId: string;
  cohortHash: string;
  baseCount: ReleasedCount;
  finalCount: ReleasedCount;
  inclusionRules: { ruleSequence: number; name: string; remainingCount: ReleasedCount }[];
}

/** Runs the cohort in a scratch result schema (dropped afterwards) and releases exact counts. */
export function cohortCountHandler(
  store: SiteStore,
  policy: Pick<DisclosurePolicy, 'minCellCount'> = DISCLOSURE_DEFAULTS,
): TaskHandler {
  return async (task) => {
    if (task.type !== 'cohort_count') throw new ItdaError('unsupported', task.type);
    if (!task.permitId) throw new ItdaError('permit_invalid', 'a cohort_count task runs only under a permit');
    const { summary } = await runCohortOnStore(store, task.payload.cohort);
    const release = (n: number) => suppressCell(n, policy);
    return {
      permitId: task.permitId,
      cohortHash: cohortHash(task.payload.cohort),
      baseCount: release(summary.baseCount),
      finalCount: release(summary.finalCount),
      inclusionRules: summary.inclusionRules.map((rule) => ({
        ruleSequence: rule.ruleSequence,
        name: rule.name,
        remainingCount: release(rule.remainingCount),
      })),
    } satisfies CohortCountResult;
  };
}
