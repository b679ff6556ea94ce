/**
 * The cohort builder's form state and its translation to the simple cohort spec of
 * src/cohort/builder.ts, which writes the Circe JSON (so the page and the hub share one
 * builder and one format).
 */
import type { SimpleCohortSpec, SimpleEvent, SimpleRule } from '../../../src/cohort/builder.ts';
import type { PickedConcept } from './ConceptPicker.tsx';

export type EventDomain = SimpleEvent['domain'];
export const EVENT_DOMAINS: readonly EventDomain[] = [
  'condition',
  'drug',
  'procedure',
  'measurement',
  'observation',
  'visit',
  'device',
];

/** OMOP domain ids to search concepts in, per builder domain. */
export const OMOP_DOMAIN: Record<EventDomain, string> = {
  condition: 'Condition',
  drug: 'Drug',
  procedure: 'Procedure',
  measurement: 'Measurement',
  observation: 'Observation',
  visit: 'Visit',
  device: 'Device',
};

export const hasValue = (domain: EventDomain) => domain === 'measurement' || domain === 'observation';

export interface EventForm {
  key: number;
  domain: EventDomain;
  concepts: PickedConcept[];
  valueMin?: number | undefined;
  valueMax?: number | undefined;
}

export interface RuleForm extends EventForm {
  /** Days relative to entry (negative = before); empty = open. */
  fromDays?: number | undefined;
  toDays?: number | undefined;
}

export interface CohortForm {
  title: string;
  entry: EventForm[];
  ageMin?: number | undefined;
  ageMax?: number | undefined;
  sex: ('male' | 'female')[];
  priorObservationDays?: number | undefined;
  require: RuleForm[];
  exclude: RuleForm[];
}

let nextKey = 1;
export function newEvent(domain: EventDomain = 'condition'): RuleForm {
  return { key: nextKey++, domain, concepts: [] };
}

export function emptyForm(): CohortForm {
  return { title: '', entry: [newEvent('condition')], sex: [], require: [], exclude: [] };
}

function event(form: EventForm): SimpleEvent {
  const names = form.concepts.map((c) => c.name).filter((n): n is string => !!n);
  return {
    domain: form.domain,
    conceptIds: form.concepts.map((c) => c.conceptId),
    ...(names.length ? { label: names.join(', ') } : {}),
    ...(hasValue(form.domain) && (form.valueMin !== undefined || form.valueMax !== undefined)
      ? {
          value: {
            ...(form.valueMin !== undefined ? { min: form.valueMin } : {}),
            ...(form.valueMax !== undefined ? { max: form.valueMax } : {}),
          },
        }
      : {}),
  };
}

function rule(form: RuleForm): SimpleRule {
  return {
    ...event(form),
    ...(form.fromDays !== undefined || form.toDays !== undefined
      ? { window: { fromDays: form.fromDays ?? null, toDays: form.toDays ?? null } }
      : {}),
  };
}

/** The builder spec of the form; rules without concepts are left out (not yet filled in). */
export function toSpec(form: CohortForm): SimpleCohortSpec {
  const filled = (r: RuleForm) => r.concepts.length > 0;
  const require = form.require.filter(filled).map(rule);
  const exclude = form.exclude.filter(filled).map(rule);
  return {
    ...(form.title.trim() ? { title: form.title.trim() } : {}),
    entry: form.entry.map(event),
    ...(form.ageMin !== undefined || form.ageMax !== undefined
      ? {
          age: {
            ...(form.ageMin !== undefined ? { min: form.ageMin } : {}),
            ...(form.ageMax !== undefined ? { max: form.ageMax } : {}),
          },
        }
      : {}),
    ...(form.sex.length ? { sex: form.sex } : {}),
    ...(form.priorObservationDays ? { priorObservationDays: form.priorObservationDays } : {}),
    ...(require.length ? { require } : {}),
    ...(exclude.length ? { exclude } : {}),
  };
}
