/**
 * The `feasibility` task: the site runs a researcher's Circe definition on its own store
 * and answers only aggregates that passed its disclosure control (counts 1–9 → "<10",
 * the rest rounded to 10, or the steward's stricter settings). No permit is needed
 * because nothing exact leaves the site.
 */

import type { CohortGenerationSummary } from '../../cohort/generate.ts';
import { type DisclosurePolicy, discloseFeasibilityCount } from '../../privacy/disclosure.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { FeasibilitySiteAnswer } from '../../protocol/feasibility.ts';
import type { TaskBody } from '../../protocol/wire.ts';
import type { SiteStore } from '../store/store.ts';
import { runCohortOnStore } from './run-cohort.ts';

/** A cohort summary as it may leave the site under `policy`. */
export function discloseCohortSummary(
  queryId: string,
  summary: CohortGenerationSummary,
  policy: DisclosurePolicy,
  elapsedMs: number,
): FeasibilitySiteAnswer {
  const release = (n: number) => discloseFeasibilityCount(n, policy);
  return {
    queryId,
    baseCount: release(summary.baseCount),
    finalCount: release(summary.finalCount),
    inclusionRules: summary.inclusionRules.map((rule) => ({
      ruleSequence: rule.ruleSequence,
      name: rule.name,
      personCount: release(rule.personCount),
      remainingCount: release(rule.remainingCount),
    })),
    disclosure: { minCellCount: policy.minCellCount, rounding: policy.rounding },
    computedAt: new Date().toISOString(),
    elapsedMs: Math.round(elapsedMs),
  };
}

/** The task handler; unsupported Circe parts are refused by the cohort engine with their path. */
export function feasibilityHandler(store: SiteStore, policy: DisclosurePolicy) {
  return async (task: TaskBody): Promise<FeasibilitySiteAnswer> => {
    if (task.type !== 'feasibility') throw new ItdaError('unsupported', `task type ${task.type}`);
    const started = performance.now();
    const { summary } = await runCohortOnStore(store, task.payload.definition);
    return discloseCohortSummary(task.payload.queryId, summary, policy, performance.now() - started);
  };
}
