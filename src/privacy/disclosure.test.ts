import { describe, expect, it } from 'vitest';
import { ItdaError } from '../protocol/errors.ts';
import {
  assertGlmReleasable,
  assertModelUpdateReleasable,
  assertMomentsReleasable,
  DISCLOSURE_DEFAULTS,
  discloseFeasibilityCount,
  disclosurePolicy,
  releasedCountRange,
  suppressCell,
} from './disclosure.ts';

function errorOf(fn: () => unknown): ItdaError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ItdaError) return error;
    throw error;
  }
  throw new Error('expected an ItdaError');
}

describe('disclosure policy', () => {
  it('starts from the platform defaults', () => {
    expect(disclosurePolicy()).toEqual({
      minCellCount: 10,
      rounding: 10,
      minRowsForMoments: 10,
      glmRowsPerParameter: 10,
      minRowsForModelUpdate: 50,
    });
  });

  it('lets a steward raise thresholds', () => {
    const policy = disclosurePolicy({ minCellCount: 20, minRowsForModelUpdate: 200, rounding: undefined });
    expect(policy.minCellCount).toBe(20);
    expect(policy.minRowsForModelUpdate).toBe(200);
    expect(policy.rounding).toBe(10);
  });

  it('refuses a lower threshold, naming the variable', () => {
    const error = errorOf(() =>
      disclosurePolicy({ minCellCount: 5 }, { minCellCount: 'ITDA_MIN_CELL_COUNT' }),
    );
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('ITDA_MIN_CELL_COUNT');
    expect(error.message).toContain('only be raised');
    expect(errorOf(() => disclosurePolicy({ minRowsForModelUpdate: 49 })).message).toContain(
      'minRowsForModelUpdate',
    );
    expect(errorOf(() => disclosurePolicy({ rounding: 2.5 })).message).toContain('whole number');
  });

  it('keeps the defaults frozen', () => {
    expect(() => {
      (DISCLOSURE_DEFAULTS as { minCellCount: number }).minCellCount = 1;
    }).toThrow();
  });
});

describe('counts', () => {
  it('suppresses small cells and keeps the rest exact', () => {
    expect([0, 1, 9, 10, 11, 123].map((n) => suppressCell(n))).toEqual([0, '<10', '<10', 10, 11, 123]);
    expect(suppressCell(15, { minCellCount: 20 })).toBe('<20');
  });

  it('rounds feasibility counts to the nearest 10 and hides 1–9', () => {
    expect([0, 1, 9, 10, 14, 15, 24, 25, 1234, 1235].map((n) => discloseFeasibilityCount(n))).toEqual([
      0,
      '<10',
      '<10',
      10,
      10,
      20,
      20,
      30,
      1230,
      1240,
    ]);
  });

  it('never shows a rounded count below a raised cell minimum', () => {
    const policy = { minCellCount: 12, rounding: 10 };
    expect(discloseFeasibilityCount(11, policy)).toBe('<12');
    expect(discloseFeasibilityCount(12, policy)).toBe(20);
    expect(discloseFeasibilityCount(100, { minCellCount: 10, rounding: 100 })).toBe(100);
    expect(discloseFeasibilityCount(149, { minCellCount: 10, rounding: 100 })).toBe(100);
    expect(discloseFeasibilityCount(12, { minCellCount: 10, rounding: 100 })).toBe(100);
  });

  it('refuses counts that are not whole and non-negative', () => {
    expect(errorOf(() => discloseFeasibilityCount(-1)).code).toBe('validation_failed');
    expect(errorOf(() => suppressCell(1.5)).code).toBe('validation_failed');
  });

  it('maps a released count back to the exact counts it stands for', () => {
    expect(releasedCountRange(0)).toEqual({ lo: 0, hi: 0 });
    expect(releasedCountRange('<10')).toEqual({ lo: 1, hi: 9 });
    expect(releasedCountRange(10)).toEqual({ lo: 10, hi: 14 });
    expect(releasedCountRange(20)).toEqual({ lo: 15, hi: 24 });
    expect(releasedCountRange(20, { minCellCount: 12, rounding: 10 })).toEqual({ lo: 12, hi: 24 });
    expect(() => releasedCountRange('about 5')).toThrow(/not a released count/);
  });

  it('is consistent: every count lies in the range of its released value', () => {
    for (const policy of [
      DISCLOSURE_DEFAULTS,
      { minCellCount: 12, rounding: 10 },
      { minCellCount: 25, rounding: 20 },
    ])
      for (let n = 0; n < 300; n++) {
        const { lo, hi } = releasedCountRange(discloseFeasibilityCount(n, policy), policy);
        expect(n >= lo && n <= hi, `${n} under ${JSON.stringify(policy)}`).toBe(true);
      }
  });
});

describe('minimum rows', () => {
  it('needs 10 rows for a mean or variance', () => {
    expect(() => assertMomentsReleasable(10)).not.toThrow();
    const error = errorOf(() => assertMomentsReleasable(9));
    expect(error.code).toBe('cell_too_small');
    expect(error.message).toContain('at least 10 rows');
  });

  it('needs 10 rows per GLM parameter', () => {
    expect(() => assertGlmReleasable(30, 3)).not.toThrow();
    expect(errorOf(() => assertGlmReleasable(29, 3)).details).toEqual({ rows: 29, needed: 30 });
    expect(errorOf(() => assertGlmReleasable(100, 0)).code).toBe('validation_failed');
  });

  it('needs 50 rows for a model update, more when the steward says so', () => {
    expect(() => assertModelUpdateReleasable(50)).not.toThrow();
    expect(errorOf(() => assertModelUpdateReleasable(49)).code).toBe('cell_too_small');
    const strict = disclosurePolicy({ minRowsForModelUpdate: 100 });
    expect(errorOf(() => assertModelUpdateReleasable(99, strict)).message).toContain('100');
  });
});
