import { describe, expect, it } from 'vitest';
import { APPLICATION_STATES } from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { APPLICATION_ACTIONS, TRANSITIONS, type TransitionActor, transition } from './state-machine.ts';

const ACTORS: TransitionActor[] = ['applicant', 'drb_member', 'admin', 'system'];

function outcome(run: () => unknown): string {
  try {
    return `ok:${String(run())}`;
  } catch (error) {
    return error instanceof ItdaError ? error.code : 'crash';
  }
}

describe('application state machine', () => {
  it('allows exactly the listed transitions, by exactly the listed actors', () => {
    let allowed = 0;
    for (const state of APPLICATION_STATES)
      for (const action of APPLICATION_ACTIONS)
        for (const actor of ACTORS) {
          const rule = TRANSITIONS[action];
          const got = outcome(() => transition(state, action, actor));
          if (!rule.from.includes(state)) expect(got, `${action} from ${state} by ${actor}`).toBe('conflict');
          else if (!rule.by.includes(actor))
            expect(got, `${action} from ${state} by ${actor}`).toBe('forbidden');
          else {
            expect(got).toBe(`ok:${rule.to}`);
            allowed += 1;
          }
        }
    // 15 of the 8 × 8 × 4 (state, action, actor) triples are legal; the other 241 are refused.
    expect(allowed).toBe(15);
  });

  it('walks the REMS path draft → submitted → under_review → returned ↔ resubmitted → approved → closed', () => {
    let state = transition('draft', 'submit', 'applicant');
    state = transition(state, 'begin_review', 'system');
    state = transition(state, 'return', 'drb_member');
    state = transition(state, 'resubmit', 'applicant');
    state = transition(state, 'begin_review', 'system');
    state = transition(state, 'approve', 'system');
    expect(transition(state, 'close', 'admin')).toBe('closed');
  });

  it('names the state and the action in a refusal', () => {
    expect(() => transition('approved', 'submit', 'applicant')).toThrow(
      /cannot submit an application that is approved/,
    );
    expect(() => transition('under_review', 'approve', 'admin')).toThrow(
      /approve is done by system, not admin/,
    );
  });

  it('never lets anyone leave a closed application', () => {
    for (const action of APPLICATION_ACTIONS)
      for (const actor of ACTORS) expect(outcome(() => transition('closed', action, actor))).toBe('conflict');
  });
});
