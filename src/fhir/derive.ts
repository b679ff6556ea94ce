/**
 * Derived OMOP tables, as pure functions of event rows: observation_period per person, and
 * condition_era / drug_era following the OHDSI era rules (CDM v5.4 CONDITION_ERA and
 * DRUG_ERA; the OHDSI "GenerateEra" scripts): a condition era joins occurrences of one
 * concept less than 30 days apart (persistence window); a drug era joins exposures to one
 * ingredient separated by at most 30 days.
 */
import { addDays, daysBetween } from './datetime.ts';
import { DERIVED_NAMESPACES, type IdAllocator } from './ids.ts';
import { TYPE_CONCEPT } from './map/clinical.ts';
import type { OmopRow, OmopTable } from './types.ts';

/** One person's event span on a date axis. */
export interface EventSpan {
  personId: number;
  start: string;
  end: string;
}

/** Start/end columns of each event table (end optional). */
const EVENT_DATES: Partial<Record<OmopTable, [string, string | null]>> = {
  visit_occurrence: ['visit_start_date', 'visit_end_date'],
  condition_occurrence: ['condition_start_date', 'condition_end_date'],
  procedure_occurrence: ['procedure_date', 'procedure_end_date'],
  drug_exposure: ['drug_exposure_start_date', 'drug_exposure_end_date'],
  device_exposure: ['device_exposure_start_date', 'device_exposure_end_date'],
  measurement: ['measurement_date', null],
  observation: ['observation_date', null],
  specimen: ['specimen_date', null],
  note: ['note_date', null],
};

/** The date span an event row covers, or undefined for rows that are not events (person, care_site…). */
export function eventSpan(row: OmopRow): EventSpan | undefined {
  const columns = EVENT_DATES[row.table];
  if (!columns || row.merge) return undefined;
  const personId = row.row.person_id;
  const start = row.row[columns[0]];
  if (typeof personId !== 'number' || typeof start !== 'string') return undefined;
  const endValue = columns[1] ? row.row[columns[1]] : null;
  const end = typeof endValue === 'string' && endValue >= start ? endValue : start;
  return { personId, start, end };
}

/**
 * OMOP observation_period: one period per person from the first to the last date of any
 * of their events (the EHR convention when enrolment is not known), type 32817 "EHR".
 */
export function deriveObservationPeriods(spans: Iterable<EventSpan>, ids: IdAllocator): OmopRow[] {
  const byPerson = new Map<number, { start: string; end: string }>();
  for (const span of spans) {
    const current = byPerson.get(span.personId);
    if (!current) byPerson.set(span.personId, { start: span.start, end: span.end });
    else {
      if (span.start < current.start) current.start = span.start;
      if (span.end > current.end) current.end = span.end;
    }
  }
  return [...byPerson.entries()]
    .sort(([a], [b]) => a - b)
    .map(([personId, { start, end }]) => ({
      table: 'observation_period' as const,
      row: {
        observation_period_id: ids.idFor(DERIVED_NAMESPACES.observationPeriod, String(personId)),
        person_id: personId,
        observation_period_start_date: start,
        observation_period_end_date: end,
        period_type_concept_id: TYPE_CONCEPT.ehr,
      },
    }));
}

interface Interval {
  start: string;
  end: string;
}

/** Merge intervals whose gap is at most `gapDays`; counts how many each merged interval holds. */
function collapse(
  intervals: Interval[],
  gapDays: number,
): (Interval & { count: number; members: Interval[] })[] {
  const sorted = [...intervals].sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const merged: (Interval & { count: number; members: Interval[] })[] = [];
  for (const interval of sorted) {
    const last = merged[merged.length - 1];
    if (last && daysBetween(last.end, interval.start) <= gapDays) {
      if (interval.end > last.end) last.end = interval.end;
      last.count++;
      last.members.push(interval);
    } else {
      merged.push({ ...interval, count: 1, members: [interval] });
    }
  }
  return merged;
}

/**
 * OMOP condition_era from condition_occurrence rows: per person and standard condition
 * concept (0 excluded), occurrences with an end of `COALESCE(end, start + 1 day)` are
 * joined when the next one starts within 30 days of the previous end.
 */
export function deriveConditionEras(
  rows: Iterable<OmopRow>,
  ids: IdAllocator,
  persistenceDays = 30,
): OmopRow[] {
  const groups = new Map<string, { personId: number; conceptId: number; intervals: Interval[] }>();
  for (const { table, row } of rows) {
    if (table !== 'condition_occurrence') continue;
    const { person_id: personId, condition_concept_id: conceptId, condition_start_date: start } = row;
    if (typeof personId !== 'number' || typeof conceptId !== 'number' || conceptId === 0) continue;
    if (typeof start !== 'string') continue;
    const endValue = row.condition_end_date;
    const end = typeof endValue === 'string' && endValue >= start ? endValue : addDays(start, 1);
    const key = `${personId}|${conceptId}`;
    const group = groups.get(key) ?? { personId, conceptId, intervals: [] };
    groups.set(key, group);
    group.intervals.push({ start, end });
  }
  const eras: OmopRow[] = [];
  for (const { personId, conceptId, intervals } of sortedGroups(groups)) {
    for (const era of collapse(intervals, persistenceDays)) {
      eras.push({
        table: 'condition_era',
        row: {
          condition_era_id: ids.idFor(
            DERIVED_NAMESPACES.conditionEra,
            `${personId}|${conceptId}|${era.start}`,
          ),
          person_id: personId,
          condition_concept_id: conceptId,
          condition_era_start_date: era.start,
          condition_era_end_date: era.end,
          condition_occurrence_count: era.count,
        },
      });
    }
  }
  return eras;
}

/**
 * OMOP drug_era from drug_exposure rows: exposures are rolled up to their ingredients
 * (`ingredientsOf`, e.g. ConceptLookup.ingredients); each exposure ends at
 * `COALESCE(end, start + days_supply, start + 1 day)`; exposures of one ingredient separated
 * by at most 30 days form an era; gap_days counts the days inside the era not covered by
 * any exposure. Exposures whose drug has no known ingredient are left out.
 */
export function deriveDrugEras(
  rows: Iterable<OmopRow>,
  ingredientsOf: (drugConceptId: number) => readonly number[],
  ids: IdAllocator,
  gapDays = 30,
): OmopRow[] {
  const groups = new Map<string, { personId: number; conceptId: number; intervals: Interval[] }>();
  const ingredientCache = new Map<number, readonly number[]>();
  for (const { table, row } of rows) {
    if (table !== 'drug_exposure') continue;
    const { person_id: personId, drug_concept_id: drugId, drug_exposure_start_date: start } = row;
    if (typeof personId !== 'number' || typeof drugId !== 'number' || drugId === 0) continue;
    if (typeof start !== 'string') continue;
    const endValue = row.drug_exposure_end_date;
    const daysSupply = row.days_supply;
    const end =
      typeof endValue === 'string' && endValue >= start
        ? endValue
        : typeof daysSupply === 'number' && daysSupply > 0
          ? addDays(start, daysSupply)
          : addDays(start, 1);
    const ingredients = ingredientCache.get(drugId) ?? ingredientsOf(drugId);
    ingredientCache.set(drugId, ingredients);
    for (const ingredient of ingredients) {
      const key = `${personId}|${ingredient}`;
      const group = groups.get(key) ?? { personId, conceptId: ingredient, intervals: [] };
      groups.set(key, group);
      group.intervals.push({ start, end });
    }
  }
  const eras: OmopRow[] = [];
  for (const { personId, conceptId, intervals } of sortedGroups(groups)) {
    for (const era of collapse(intervals, gapDays)) {
      // Days exposed: the union of the era's exposures (overlaps counted once).
      const exposed = collapse(era.members, 0).reduce((sum, s) => sum + daysBetween(s.start, s.end), 0);
      eras.push({
        table: 'drug_era',
        row: {
          drug_era_id: ids.idFor(DERIVED_NAMESPACES.drugEra, `${personId}|${conceptId}|${era.start}`),
          person_id: personId,
          drug_concept_id: conceptId,
          drug_era_start_date: era.start,
          drug_era_end_date: era.end,
          drug_exposure_count: era.count,
          gap_days: Math.max(0, daysBetween(era.start, era.end) - exposed),
        },
      });
    }
  }
  return eras;
}

function sortedGroups<T extends { personId: number; conceptId: number }>(groups: Map<string, T>): T[] {
  return [...groups.values()].sort((a, b) => a.personId - b.personId || a.conceptId - b.conceptId);
}
