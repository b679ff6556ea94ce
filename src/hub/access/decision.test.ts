import { describe, expect, it } from 'vitest';
import type { Vote } from '../../protocol/access.ts';
import { applicationOutcome, checkDrbComposition, decideSite, majority } from './decision.ts';

const members = (internal: number, external: number) => [
  ...Array.from({ length: internal }, (_, i) => ({ userId: `in-${i}`, external: false })),
  ...Array.from({ length: external }, (_, i) => ({ userId: `ex-${i}`, external: true })),
];

const votes = (...list: Vote[]) =>
  list.map((vote) => ({
    vote,
    conditions: vote === 'approve_with_conditions' ? [`condition of ${vote}`] : [],
  }));

describe('DRB composition (at least 5 members, at least 2 external)', () => {
  it('refuses fewer than 5 members or fewer than 2 external ones', () => {
    expect(() => checkDrbComposition(members(2, 2))).toThrow(/at least 5 members; this one has 4/);
    expect(() => checkDrbComposition(members(5, 1))).toThrow(/at least 2 external members; this one has 1/);
    expect(() => checkDrbComposition([...members(3, 2), { userId: 'in-0', external: false }])).toThrow(
      /twice/,
    );
  });

  it('defaults the quorum to a majority and refuses one below it or above the membership', () => {
    expect(checkDrbComposition(members(3, 2))).toBe(3);
    expect(checkDrbComposition(members(4, 2))).toBe(4);
    expect(checkDrbComposition(members(4, 2), 6)).toBe(6);
    expect(() => checkDrbComposition(members(4, 2), 3)).toThrow(/between a majority \(4\) and all 6/);
    expect(() => checkDrbComposition(members(3, 2), 6)).toThrow(/quorum/);
    expect(majority(7)).toBe(4);
  });
});

describe('site decision', () => {
  const drb = { memberCount: 5, quorum: 3 };

  it('stays pending below the quorum, whatever the votes', () => {
    expect(decideSite(votes('approve', 'approve'), drb).decision).toBe('pending');
    expect(decideSite(votes('reject', 'reject'), drb).decision).toBe('pending');
  });

  it('decides by the majority of votes cast once the quorum has voted', () => {
    expect(decideSite(votes('approve', 'approve', 'reject'), drb)).toMatchObject({
      decision: 'approved',
      approvals: 2,
      rejections: 1,
    });
    expect(decideSite(votes('reject', 'reject', 'approve'), drb).decision).toBe('rejected');
  });

  it('carries every approving vote’s conditions, and only then says approved_with_conditions', () => {
    const result = decideSite(
      [
        { vote: 'approve_with_conditions', conditions: ['no export of row data'] },
        { vote: 'approve_with_conditions', conditions: ['annual report', 'no export of row data'] },
        { vote: 'reject', conditions: [] },
      ],
      drb,
    );
    expect(result).toMatchObject({ decision: 'approved_with_conditions' });
    expect(result.conditions).toEqual(['no export of row data', 'annual report']);
  });

  it('waits on a tie while members have not voted; a tie with everyone voted is a rejection', () => {
    const six = { memberCount: 6, quorum: 4 };
    expect(decideSite(votes('approve', 'approve', 'reject', 'reject'), six).decision).toBe('pending');
    expect(decideSite(votes('approve', 'approve', 'reject', 'reject', 'approve'), six).decision).toBe(
      'approved',
    );
    expect(
      decideSite(votes('approve', 'approve', 'approve', 'reject', 'reject', 'reject'), six).decision,
    ).toBe('rejected');
  });
});

describe('application outcome', () => {
  it('approves when every site approved, rejects as soon as any site rejects, else waits', () => {
    expect(applicationOutcome(['approved', 'approved_with_conditions'])).toBe('approved');
    expect(applicationOutcome(['approved', 'pending'])).toBe('pending');
    expect(applicationOutcome(['pending', 'rejected'])).toBe('rejected');
    expect(applicationOutcome([])).toBe('pending');
  });
});
