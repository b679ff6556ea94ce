/**
 * How votes become a site's decision and sites' decisions become an application's
 * outcome. Pure functions; service.ts stores what they return.
 *
 * DRB composition (the Korean rule for data review boards): at least 5 members, at least
 * 2 of them external. Quorum: default a majority of the members (⌊n/2⌋ + 1); a
 * configured quorum may be higher, never below a majority, so a minority never decides.
 *
 * A site's decision (majority of votes cast, once the quorum has voted):
 * - fewer votes than the quorum → pending;
 * - approvals (approve + approve_with_conditions) outnumber rejections → approved, or
 *   approved_with_conditions when any approving vote set conditions (all conditions are
 *   carried into the permit);
 * - rejections outnumber approvals → rejected;
 * - a tie stays pending while members have not voted; a tie with every member voted is
 *   rejected (an approval needs a majority).
 *
 * The application's outcome: rejected as soon as any requested site rejects (the
 * research was reviewed as one design; the applicant may revise and apply again);
 * approved when every requested site approved (with or without conditions); otherwise
 * pending.
 */
import type { SiteDecision, Vote } from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';

export const MIN_DRB_MEMBERS = 5;
export const MIN_EXTERNAL_DRB_MEMBERS = 2;

export function majority(memberCount: number): number {
  return Math.floor(memberCount / 2) + 1;
}

/** Checks a DRB's composition and returns its quorum; throws `validation_failed` naming the rule broken. */
export function checkDrbComposition(
  members: readonly { userId: string; external: boolean }[],
  quorum?: number,
) {
  const ids = new Set(members.map((m) => m.userId));
  if (ids.size !== members.length) throw new ItdaError('validation_failed', 'a DRB lists a member twice');
  if (members.length < MIN_DRB_MEMBERS)
    throw new ItdaError(
      'validation_failed',
      `a DRB needs at least ${MIN_DRB_MEMBERS} members; this one has ${members.length}`,
    );
  const external = members.filter((m) => m.external).length;
  if (external < MIN_EXTERNAL_DRB_MEMBERS)
    throw new ItdaError(
      'validation_failed',
      `a DRB needs at least ${MIN_EXTERNAL_DRB_MEMBERS} external members; this one has ${external}`,
    );
  const resolved = quorum ?? majority(members.length);
  if (resolved < majority(members.length) || resolved > members.length)
    throw new ItdaError(
      'validation_failed',
      `quorum must lie between a majority (${majority(members.length)}) and all ${members.length} members`,
    );
  return resolved;
}

export interface CastVote {
  vote: Vote;
  conditions: readonly string[];
}

export interface SiteDecisionResult {
  decision: SiteDecision;
  conditions: string[];
  approvals: number;
  rejections: number;
}

export function decideSite(
  votes: readonly CastVote[],
  drb: { memberCount: number; quorum: number },
): SiteDecisionResult {
  const approving = votes.filter((v) => v.vote !== 'reject');
  const approvals = approving.length;
  const rejections = votes.length - approvals;
  const conditions = [...new Set(approving.flatMap((v) => v.conditions))];
  const result = (decision: SiteDecision): SiteDecisionResult => ({
    decision,
    conditions: decision === 'approved_with_conditions' ? conditions : [],
    approvals,
    rejections,
  });
  if (votes.length < drb.quorum) return result('pending');
  if (approvals > rejections) {
    const conditional = approving.some(
      (v) => v.vote === 'approve_with_conditions' || v.conditions.length > 0,
    );
    return result(conditional ? 'approved_with_conditions' : 'approved');
  }
  if (rejections > approvals) return result('rejected');
  return result(votes.length >= drb.memberCount ? 'rejected' : 'pending');
}

export type ApplicationOutcome = 'pending' | 'approved' | 'rejected';

export function applicationOutcome(decisions: readonly SiteDecision[]): ApplicationOutcome {
  if (decisions.length === 0) return 'pending';
  if (decisions.includes('rejected')) return 'rejected';
  if (decisions.every((d) => d === 'approved' || d === 'approved_with_conditions')) return 'approved';
  return 'pending';
}
