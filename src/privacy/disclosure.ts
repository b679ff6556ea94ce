/**
 * Statistical disclosure control: what an aggregate must satisfy before it leaves a
 * site. The defaults are the platform's (ARCHITECTURE.md, "Disclosure control
 * defaults"); the thresholds follow common practice in federated analysis (DataSHIELD's
 * `nfilter.tab` / `nfilter.subset` / `nfilter.glm`, rounding of small counts as in the
 * OHDSI and UK safe-output guidance). A steward may raise a threshold, never lower it.
 */
import { ItdaError } from '../protocol/errors.ts';

export interface DisclosurePolicy {
  /** Counts from 1 to minCellCount−1 leave the site as `"<minCellCount"`; table cells below it are suppressed. */
  minCellCount: number;
  /** Feasibility counts are rounded to the nearest multiple of this. */
  rounding: number;
  /** Rows needed before a mean, variance or other moment may be released. */
  minRowsForMoments: number;
  /** Rows needed per model parameter before a GLM (coefficients, deviance) may be released. */
  glmRowsPerParameter: number;
  /** Rows needed before a model update (federated learning round) may leave the site. */
  minRowsForModelUpdate: number;
}

/** The platform's floor: every site applies at least these. */
export const DISCLOSURE_DEFAULTS: Readonly<DisclosurePolicy> = Object.freeze({
  minCellCount: 10,
  rounding: 10,
  minRowsForMoments: 10,
  glmRowsPerParameter: 10,
  minRowsForModelUpdate: 50,
});

const POLICY_KEYS = Object.keys(DISCLOSURE_DEFAULTS) as (keyof DisclosurePolicy)[];

/**
 * The effective policy: the defaults, raised where `overrides` asks. A value below the
 * default (or not a positive integer) is refused with `validation_failed` naming it,
 * because a site may be stricter than the platform but never laxer.
 */
export function disclosurePolicy(
  overrides: Partial<Record<keyof DisclosurePolicy, number | undefined>> = {},
  source: Partial<Record<keyof DisclosurePolicy, string>> = {},
): DisclosurePolicy {
  const policy = { ...DISCLOSURE_DEFAULTS };
  for (const key of POLICY_KEYS) {
    const value = overrides[key];
    if (value === undefined) continue;
    const name = source[key] ?? key;
    if (!Number.isSafeInteger(value) || value < 1)
      throw new ItdaError('validation_failed', `${name}: must be a positive whole number, got ${value}`);
    if (value < DISCLOSURE_DEFAULTS[key])
      throw new ItdaError(
        'validation_failed',
        `${name}: ${value} is below the platform minimum ${DISCLOSURE_DEFAULTS[key]}; disclosure thresholds can only be raised`,
      );
    policy[key] = value;
  }
  return policy;
}

/** The label a suppressed count carries, e.g. `"<10"`. */
export function suppressedLabel(policy: Pick<DisclosurePolicy, 'minCellCount'>): `<${number}` {
  return `<${policy.minCellCount}`;
}

/** A count as released: exact, or `"<N"`. */
export type ReleasedCount = number | `<${number}`;

/**
 * A table or histogram cell: 0 and counts ≥ minCellCount stay exact; 1…minCellCount−1
 * become `"<minCellCount"`.
 */
export function suppressCell(
  count: number,
  policy: Pick<DisclosurePolicy, 'minCellCount'> = DISCLOSURE_DEFAULTS,
): ReleasedCount {
  assertCount(count);
  return count > 0 && count < policy.minCellCount ? suppressedLabel(policy) : count;
}

/** The smallest count a rounded feasibility answer may show (never below the cell minimum). */
function smallestShown(policy: Pick<DisclosurePolicy, 'minCellCount' | 'rounding'>): number {
  return Math.ceil(policy.minCellCount / policy.rounding) * policy.rounding;
}

/**
 * A feasibility count as it leaves the site: 0 stays 0, 1…minCellCount−1 become
 * `"<minCellCount"`, anything else is rounded to the nearest multiple of `rounding`
 * (halves up), and never shown below the cell minimum. Exact counts leave only under a
 * permit, which is not this function's business.
 */
export function discloseFeasibilityCount(
  count: number,
  policy: Pick<DisclosurePolicy, 'minCellCount' | 'rounding'> = DISCLOSURE_DEFAULTS,
): ReleasedCount {
  assertCount(count);
  if (count === 0) return 0;
  if (count < policy.minCellCount) return suppressedLabel(policy);
  return Math.max(smallestShown(policy), Math.round(count / policy.rounding) * policy.rounding);
}

/**
 * The exact counts a released feasibility count stands for: `[lo, hi]` (inclusive).
 * 0 → [0, 0]; `"<N"` → [1, N−1]; a rounded n → the counts that round to n. Used to bound
 * totals honestly and to compare answers for differencing.
 */
export function releasedCountRange(
  released: number | string,
  policy: Pick<DisclosurePolicy, 'minCellCount' | 'rounding'> = DISCLOSURE_DEFAULTS,
): { lo: number; hi: number } {
  if (typeof released === 'string') {
    const match = /^<([1-9][0-9]*)$/.exec(released);
    if (!match) throw new ItdaError('validation_failed', `not a released count: "${released}"`);
    return { lo: 1, hi: Number(match[1]) - 1 };
  }
  assertCount(released);
  if (released === 0) return { lo: 0, hi: 0 };
  const half = policy.rounding / 2;
  const hi = Math.ceil(released + half) - 1;
  const lo = released === smallestShown(policy) ? policy.minCellCount : Math.ceil(released - half);
  return { lo: Math.max(lo, policy.minCellCount), hi };
}

/** Why an aggregate may not be released, as an error with code `cell_too_small`. */
function tooFew(what: string, rows: number, needed: number): ItdaError {
  return new ItdaError('cell_too_small', `${what} needs at least ${needed} rows, this one has ${rows}`, {
    rows,
    needed,
  });
}

/** Refuses a mean/variance (or any moment) over fewer than `minRowsForMoments` rows. */
export function assertMomentsReleasable(rows: number, policy: DisclosurePolicy = DISCLOSURE_DEFAULTS): void {
  assertCount(rows);
  if (rows < policy.minRowsForMoments) throw tooFew('a mean or variance', rows, policy.minRowsForMoments);
}

/** Refuses a GLM with fewer than `glmRowsPerParameter` rows per parameter. */
export function assertGlmReleasable(
  rows: number,
  parameters: number,
  policy: DisclosurePolicy = DISCLOSURE_DEFAULTS,
): void {
  assertCount(rows);
  if (!Number.isSafeInteger(parameters) || parameters < 1)
    throw new ItdaError('validation_failed', `a GLM has at least one parameter, got ${parameters}`);
  const needed = parameters * policy.glmRowsPerParameter;
  if (rows < needed) throw tooFew(`a GLM with ${parameters} parameters`, rows, needed);
}

/** Refuses a model update trained on fewer than `minRowsForModelUpdate` rows. */
export function assertModelUpdateReleasable(
  rows: number,
  policy: DisclosurePolicy = DISCLOSURE_DEFAULTS,
): void {
  assertCount(rows);
  if (rows < policy.minRowsForModelUpdate) throw tooFew('a model update', rows, policy.minRowsForModelUpdate);
}

function assertCount(count: number): void {
  if (!Number.isSafeInteger(count) || count < 0)
    throw new ItdaError('validation_failed', `a count is a whole number ≥ 0, got ${count}`);
}
