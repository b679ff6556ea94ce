import { describe, expect, it } from 'vitest';
import { addDays, daysBetween, parseFhirDateTime } from './datetime.ts';
import { deriveConditionEras, deriveDrugEras, deriveObservationPeriods, eventSpan } from './derive.ts';
import { InMemoryIdAllocator } from './ids.ts';
import { parseReference } from './references.ts';
import type { OmopRow } from './types.ts';

const condition = (personId: number, conceptId: number, start: string, end: string | null): OmopRow => ({
  table: 'condition_occurrence',
  row: {
    person_id: personId,
    condition_concept_id: conceptId,
    condition_start_date: start,
    condition_end_date: end,
  },
});

const drug = (
  personId: number,
  conceptId: number,
  start: string,
  end: string,
  daysSupply: number | null = null,
): OmopRow => ({
  table: 'drug_exposure',
  row: {
    person_id: personId,
    drug_concept_id: conceptId,
    drug_exposure_start_date: start,
    drug_exposure_end_date: end,
    days_supply: daysSupply,
  },
});

describe('condition_era (30-day persistence window)', () => {
  it('joins occurrences less than 30 days apart, counts them, and ignores concept 0', () => {
    const rows = [
      condition(1, 100, '2020-01-01', '2020-01-05'),
      condition(1, 100, '2020-01-20', null),
      condition(1, 100, '2020-03-15', '2020-03-16'),
      condition(1, 0, '2020-01-01', null),
      condition(2, 100, '2021-06-01', null),
    ];
    const eras = deriveConditionEras(rows, new InMemoryIdAllocator()).map((e) => {
      const { condition_era_id: _id, ...rest } = e.row;
      return rest;
    });
    expect(eras).toEqual([
      {
        person_id: 1,
        condition_concept_id: 100,
        condition_era_start_date: '2020-01-01',
        // No end: start + 1 day.
        condition_era_end_date: '2020-01-21',
        condition_occurrence_count: 2,
      },
      {
        person_id: 1,
        condition_concept_id: 100,
        condition_era_start_date: '2020-03-15',
        condition_era_end_date: '2020-03-16',
        condition_occurrence_count: 1,
      },
      {
        person_id: 2,
        condition_concept_id: 100,
        condition_era_start_date: '2021-06-01',
        condition_era_end_date: '2021-06-02',
        condition_occurrence_count: 1,
      },
    ]);
  });
});

describe('drug_era (ingredient, 30-day gap)', () => {
  it('rolls up to ingredients, joins exposures within 30 days and counts the gap days', () => {
    const ingredients: Record<number, number[]> = { 11: [1], 12: [1, 2], 13: [] };
    const rows = [
      drug(1, 11, '2020-01-01', '2020-01-30'),
      drug(1, 12, '2020-02-15', '2020-03-15'),
      drug(1, 13, '2020-02-15', '2020-03-15'),
      drug(1, 11, '2020-06-01', '2020-06-01', 10),
    ];
    const eras = deriveDrugEras(rows, (id) => ingredients[id] ?? [], new InMemoryIdAllocator()).map((e) => {
      const { drug_era_id: _id, ...rest } = e.row;
      return rest;
    });
    expect(eras).toEqual([
      {
        person_id: 1,
        drug_concept_id: 1,
        drug_era_start_date: '2020-01-01',
        drug_era_end_date: '2020-03-15',
        drug_exposure_count: 2,
        gap_days: 16,
      },
      {
        person_id: 1,
        drug_concept_id: 1,
        drug_era_start_date: '2020-06-01',
        drug_era_end_date: '2020-06-01',
        drug_exposure_count: 1,
        gap_days: 0,
      },
      {
        person_id: 1,
        drug_concept_id: 2,
        drug_era_start_date: '2020-02-15',
        drug_era_end_date: '2020-03-15',
        drug_exposure_count: 1,
        gap_days: 0,
      },
    ]);
  });
});

describe('observation_period', () => {
  it('spans each person from their first to their last event date', () => {
    const rows: OmopRow[] = [
      condition(1, 100, '2020-01-01', '2020-02-01'),
      drug(1, 11, '2019-05-01', '2019-05-31'),
      { table: 'measurement', row: { person_id: 1, measurement_date: '2021-07-07' } },
      { table: 'person', row: { person_id: 1, year_of_birth: 1950 } },
      {
        table: 'visit_occurrence',
        row: { person_id: 2, visit_start_date: '2022-01-01', visit_end_date: '2022-01-03' },
      },
    ];
    const spans = rows.map(eventSpan).filter((s) => s !== undefined);
    const ids = new InMemoryIdAllocator();
    const periods = deriveObservationPeriods(spans, ids);
    expect(periods.map((p) => p.row)).toEqual([
      {
        observation_period_id: ids.idFor('ObservationPeriod', '1'),
        person_id: 1,
        observation_period_start_date: '2019-05-01',
        observation_period_end_date: '2021-07-07',
        period_type_concept_id: 32817,
      },
      {
        observation_period_id: ids.idFor('ObservationPeriod', '2'),
        person_id: 2,
        observation_period_start_date: '2022-01-01',
        observation_period_end_date: '2022-01-03',
        period_type_concept_id: 32817,
      },
    ]);
  });
});

describe('dates and references', () => {
  it('keeps the wall clock, completes partial dates and refuses impossible ones', () => {
    expect(parseFhirDateTime('2017-11-02T03:30:00+05:00')).toMatchObject({
      ok: true,
      value: { date: '2017-11-02', datetime: '2017-11-02T03:30:00', precision: 'time' },
    });
    expect(parseFhirDateTime('2011-10-14T23:37:54.530+00:00')).toMatchObject({
      value: { datetime: '2011-10-14T23:37:54' },
    });
    expect(parseFhirDateTime('1986')).toMatchObject({
      value: { date: '1986-01-01', precision: 'year', month: null, day: null },
    });
    expect(parseFhirDateTime('2024-02-29').ok).toBe(true);
    for (const bad of [
      '2023-02-29',
      '2021-13-01',
      '2021-04-31',
      '2021-01-01T24:00:00Z',
      '0201-01-01',
      '01/02/2020',
      42,
    ]) {
      expect(parseFhirDateTime(bad).ok, String(bad)).toBe(false);
    }
    expect(addDays('2024-02-28', 2)).toBe('2024-03-01');
    expect(daysBetween('2024-01-01', '2024-03-01')).toBe(60);
  });

  it('reads relative, absolute, versioned and urn references', () => {
    expect(parseReference({ reference: 'Patient/123' })).toEqual({ resourceType: 'Patient', id: '123' });
    expect(parseReference({ reference: 'https://fhir.example.kr/r4/Patient/abc/_history/3' })).toEqual({
      resourceType: 'Patient',
      id: 'abc',
    });
    expect(parseReference({ reference: 'urn:uuid:5e86' }, 'Patient')).toEqual({
      resourceType: 'Patient',
      id: '5e86',
    });
    expect(parseReference({ reference: 'urn:uuid:5e86' })).toBeUndefined();
    expect(parseReference({ reference: '#contained' })).toBeUndefined();
    expect(parseReference({ reference: 'Patient?identifier=x|1' })).toBeUndefined();
    expect(parseReference('Patient/1')).toBeUndefined();
  });
});
