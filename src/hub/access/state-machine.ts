/**
 * The application life cycle, in one table (states after GA4GH REMS). Every state change
 * goes through `transition`, which refuses anything the table does not list.
 */
import type { ApplicationState } from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';

/**
 * Who makes a transition: the applicant (creator of the application), a DRB member of a
 * requested site, an admin, or the hub itself (when votes decide an outcome).
 */
export type TransitionActor = 'applicant' | 'drb_member' | 'admin' | 'system';

export const APPLICATION_ACTIONS = [
  'submit',
  'begin_review',
  'return',
  'resubmit',
  'approve',
  'reject',
  'close',
  'withdraw',
] as const;
export type ApplicationAction = (typeof APPLICATION_ACTIONS)[number];

interface TransitionRule {
  from: readonly ApplicationState[];
  to: ApplicationState;
  by: readonly TransitionActor[];
}

export const TRANSITIONS: Readonly<Record<ApplicationAction, TransitionRule>> = {
  submit: { from: ['draft'], to: 'submitted', by: ['applicant'] },
  // The first vote (or joint-review choice) of a round opens the review.
  begin_review: { from: ['submitted', 'resubmitted'], to: 'under_review', by: ['system'] },
  // A DRB asks for changes; the applicant edits and resubmits, which starts a new round.
  return: { from: ['submitted', 'resubmitted', 'under_review'], to: 'returned', by: ['drb_member'] },
  resubmit: { from: ['returned'], to: 'resubmitted', by: ['applicant'] },
  // Outcomes follow from the sites' decisions (service.ts applicationOutcome), never from a person.
  approve: { from: ['under_review'], to: 'approved', by: ['system'] },
  reject: { from: ['under_review'], to: 'rejected', by: ['system'] },
  close: { from: ['approved', 'rejected'], to: 'closed', by: ['applicant', 'admin'] },
  withdraw: { from: ['draft', 'returned'], to: 'closed', by: ['applicant'] },
};

/** The state after `action`; throws `conflict` for an illegal transition, `forbidden` for the wrong actor. */
export function transition(
  state: ApplicationState,
  action: ApplicationAction,
  actor: TransitionActor,
): ApplicationState {
  const rule = TRANSITIONS[action];
  if (!rule.from.includes(state)) {
    throw new ItdaError('conflict', `cannot ${action.replace('_', ' ')} an application that is ${state}`, {
      state,
      action,
      allowedFrom: rule.from,
    });
  }
  if (!rule.by.includes(actor)) {
    throw new ItdaError(
      'forbidden',
      `${action.replace('_', ' ')} is done by ${rule.by.join(' or ')}, not ${actor}`,
    );
  }
  return rule.to;
}
