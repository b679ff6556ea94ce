/**
 * Data and cohorts for bench/feasibility: OMOP CDM rows written straight from the
 * synthetic population's ground truth (src/synth `generatePerson`), skipping the FHIR
 * round trip so that 100,000 people load in minutes on a small machine, and the
 * benchmark cohort both as Circe JSON (src/cohort builder) and as hand-written SQL.
 *
 * The rows follow what FHIR ingest writes for the same people: conditions under their
 * SNOMED standard concept with the KCD-7 code as source, drugs under the RxNorm clinical
 * drug concepts of the Eunomia vocabulary (src/synth/codes.ts), EHR type concepts.
 */
import { buildCohort } from '../src/cohort/builder.ts';
import type { CohortExpressionJson } from '../src/cohort/expression.ts';
import type { SiteStore, SqlValue } from '../src/site/store/store.ts';
import { DIAGNOSES, type DiagnosisKey } from '../src/synth/codes.ts';
import { isoDay } from '../src/synth/dates.ts';
import { generatePerson, type Period, periodOf } from '../src/synth/person.ts';
import { Random } from '../src/synth/random.ts';

/** OMOP standard concept of atrial fibrillation (SNOMED 49436004, target of KCD-7 I48.9). */
export const AF_CONCEPT_ID = DIAGNOSES.atrialFibrillation.standardConceptId;
/** RxNorm 855332 "warfarin sodium 5 MG Oral Tablet", the anticoagulant the population takes. */
export const WARFARIN_CONCEPT_ID = 40163554;

/** Clinical drug concepts (Eunomia vocabulary) prescribed for each condition. */
const DRUG_FOR: Partial<Record<DiagnosisKey, number[]>> = {
  hypertension: [1332419, 19080128], // amlodipine 5 MG, lisinopril 10 MG
  diabetes: [40163924], // metformin 500 MG ER
  stroke: [19075601], // clopidogrel 75 MG
};

const EHR = 32817;
const EHR_PRESCRIPTION = 32838;
const GENDER = { male: 8507, female: 8532 } as const;
const SUPPLY_DAYS = 90;

/** The benchmark cohort: first AF diagnosis, age ≥ 65 at it, no warfarin in the 90 days before. */
export function afNoAnticoagulantCohort(): CohortExpressionJson {
  return buildCohort({
    title: 'Atrial fibrillation, 65 or older, no anticoagulant in the 90 days before',
    entry: [{ domain: 'condition', conceptIds: [AF_CONCEPT_ID], label: 'Atrial fibrillation' }],
    age: { min: 65 },
    exclude: [
      {
        domain: 'drug',
        conceptIds: [WARFARIN_CONCEPT_ID],
        label: 'warfarin',
        window: { fromDays: -90, toDays: 0 },
      },
    ],
  });
}

const firstAfSql = (cdm: string) => `
  SELECT co.person_id, co.condition_start_date AS index_date,
         op.observation_period_start_date AS op_start, op.observation_period_end_date AS op_end,
         ROW_NUMBER() OVER (PARTITION BY co.person_id
                            ORDER BY co.condition_start_date, co.condition_occurrence_id) AS ordinal
  FROM ${cdm}.condition_occurrence co
  JOIN ${cdm}.observation_period op
    ON op.person_id = co.person_id
   AND co.condition_start_date BETWEEN op.observation_period_start_date AND op.observation_period_end_date
  WHERE co.condition_concept_id = ${AF_CONCEPT_ID}`;

const ageOk = 'EXTRACT(YEAR FROM af.index_date) - p.year_of_birth >= 65';
const noWarfarin = (cdm: string) => `NOT EXISTS (
    SELECT 1 FROM ${cdm}.drug_exposure d
    WHERE d.person_id = af.person_id
      AND d.drug_concept_id = ${WARFARIN_CONCEPT_ID}
      AND d.drug_exposure_start_date BETWEEN af.index_date - 90 AND af.index_date
      AND d.drug_exposure_start_date BETWEEN af.op_start AND af.op_end
  )`;

/**
 * The same cohort written by hand, as an analyst would: each person's first AF diagnosis
 * inside an observation period, age by year of birth (as Circe computes it), no warfarin
 * start from 90 days before to the index day within that period. Writes the cohort rows
 * (exit at the end of the observation period, Circe's default) into the temporary `table`.
 */
export function handWrittenCohortSql(cdmSchema: string, table: string): string[] {
  return [
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TEMPORARY TABLE ${table} AS
WITH af AS (${firstAfSql(cdmSchema)})
SELECT af.person_id AS subject_id, af.index_date AS cohort_start_date, af.op_end AS cohort_end_date
FROM af JOIN ${cdmSchema}.person p ON p.person_id = af.person_id
WHERE af.ordinal = 1 AND ${ageOk} AND ${noWarfarin(cdmSchema)}`,
  ];
}

/**
 * The hand-written cohort with what a feasibility answer also reports, like the
 * Circe statements do: each person's first event with a pass/fail flag per inclusion
 * rule, the cohort rows in `table`, and (last statement, a query) the attrition — entry
 * persons, then persons passing rule 1, rules 1 and 2.
 */
export function handWrittenCohortWithAttritionSql(cdmSchema: string, table: string): string[] {
  const events = `${table}_events`;
  return [
    `DROP TABLE IF EXISTS ${events}`,
    `DROP TABLE IF EXISTS ${table}`,
    `CREATE TEMPORARY TABLE ${events} AS
WITH af AS (${firstAfSql(cdmSchema)})
SELECT af.person_id, af.index_date, af.op_end,
       (${ageOk}) AS age_ok, ${noWarfarin(cdmSchema)} AS no_warfarin
FROM af JOIN ${cdmSchema}.person p ON p.person_id = af.person_id
WHERE af.ordinal = 1`,
    `CREATE TEMPORARY TABLE ${table} AS
SELECT person_id AS subject_id, index_date AS cohort_start_date, op_end AS cohort_end_date
FROM ${events} WHERE age_ok AND no_warfarin`,
    `SELECT COUNT(*) AS base,
       SUM(CASE WHEN age_ok THEN 1 ELSE 0 END) AS rule_1,
       SUM(CASE WHEN age_ok AND no_warfarin THEN 1 ELSE 0 END) AS rule_2
FROM ${events}`,
  ];
}

export interface SyntheticOmopSummary {
  persons: number;
  conditions: number;
  drugs: number;
}

interface Batch {
  person: SqlValue[][];
  observation_period: SqlValue[][];
  condition_occurrence: SqlValue[][];
  drug_exposure: SqlValue[][];
}

const COLUMNS = {
  person: [
    'person_id',
    'gender_concept_id',
    'year_of_birth',
    'month_of_birth',
    'day_of_birth',
    'race_concept_id',
    'ethnicity_concept_id',
    'person_source_value',
  ],
  observation_period: [
    'observation_period_id',
    'person_id',
    'observation_period_start_date',
    'observation_period_end_date',
    'period_type_concept_id',
  ],
  condition_occurrence: [
    'condition_occurrence_id',
    'person_id',
    'condition_concept_id',
    'condition_start_date',
    'condition_type_concept_id',
    'condition_source_value',
    'condition_source_concept_id',
  ],
  drug_exposure: [
    'drug_exposure_id',
    'person_id',
    'drug_concept_id',
    'drug_exposure_start_date',
    'drug_exposure_end_date',
    'drug_type_concept_id',
    'days_supply',
  ],
} as const satisfies Record<keyof Batch, readonly string[]>;

/** Day numbers of a repeated event from `first` to `last`, every `every` days plus jitter. */
function repeats(random: Random, first: number, last: number, every: number, jitter: number): number[] {
  const days: number[] = [];
  for (let day = first; day <= last; day += every + random.int(0, jitter)) days.push(day);
  return days;
}

/**
 * The OMOP rows of person `index` of the synthetic population `seed`: one observation
 * period over the study window (from birth if later, to death if earlier); each condition
 * first recorded at its onset (or at a first visit when the onset predates the window)
 * and again at follow-up visits every 3–9 months; 90-day prescriptions for treated
 * conditions. Warfarin (for the 60 % of AF patients the model anticoagulates) starts
 * between 150 days before and 60 days after the first recorded AF diagnosis, as it would
 * when another clinic started it, so the 90-day exclusion has work to do.
 */
export function personRows(seed: string, index: number, period: Period, ids: { next: number }): Batch {
  const person = generatePerson(seed, index, 1, period);
  const random = new Random(`${seed}:omop:${index}`);
  const personId = index + 1;
  const birth = new Date(isoDay(person.birthDay));
  const start = Math.max(period.startDay, person.birthDay);
  const end = person.deathDay ?? period.endDay;
  const batch: Batch = { person: [], observation_period: [], condition_occurrence: [], drug_exposure: [] };
  batch.person.push([
    personId,
    GENDER[person.sex],
    birth.getUTCFullYear(),
    birth.getUTCMonth() + 1,
    birth.getUTCDate(),
    0,
    0,
    person.personId,
  ]);
  batch.observation_period.push([personId, personId, isoDay(start), isoDay(end), EHR]);
  const prescribe = (conceptId: number, from: number) => {
    for (const day of repeats(random, Math.max(from, start), end, SUPPLY_DAYS, 20))
      batch.drug_exposure.push([
        ids.next++,
        personId,
        conceptId,
        isoDay(day),
        isoDay(Math.min(day + SUPPLY_DAYS - 1, end)),
        EHR_PRESCRIPTION,
        SUPPLY_DAYS,
      ]);
  };
  for (const [key, onset] of Object.entries(person.conditions) as [DiagnosisKey, number][]) {
    if (onset > end) continue;
    const diagnosis = DIAGNOSES[key];
    const first = onset >= start ? onset : start + random.int(0, 365);
    if (first > end) continue;
    for (const day of repeats(random, first, end, 90, 180))
      batch.condition_occurrence.push([
        ids.next++,
        personId,
        diagnosis.standardConceptId,
        isoDay(day),
        EHR,
        diagnosis.kcd7,
        diagnosis.kcd7ConceptId,
      ]);
    for (const drug of DRUG_FOR[key] ?? [])
      if (random.chance(0.7)) prescribe(drug, first + random.int(0, 30));
    if (key === 'atrialFibrillation' && person.anticoagulated)
      prescribe(WARFARIN_CONCEPT_ID, first + random.int(-150, 60));
  }
  return batch;
}

/**
 * Loads `patients` synthetic people into the store's CDM tables in batches (the store's
 * bulk path: DuckDB appender, PostgreSQL COPY). Same seed ⇒ same rows on every dialect.
 */
export async function loadSyntheticOmop(
  store: SiteStore,
  options: { patients: number; seed?: string; start?: string; end?: string; batchSize?: number },
): Promise<SyntheticOmopSummary> {
  const seed = options.seed ?? 'bench-feasibility';
  const period = periodOf(options.start ?? '2015-01-01', options.end ?? '2025-12-31');
  const batchSize = options.batchSize ?? 5_000;
  const ids = { next: 1 };
  const summary: SyntheticOmopSummary = { persons: 0, conditions: 0, drugs: 0 };
  for (let from = 0; from < options.patients; from += batchSize) {
    const batch: Batch = { person: [], observation_period: [], condition_occurrence: [], drug_exposure: [] };
    for (let index = from; index < Math.min(options.patients, from + batchSize); index++) {
      const rows = personRows(seed, index, period, ids);
      for (const table of Object.keys(batch) as (keyof Batch)[]) batch[table].push(...rows[table]);
    }
    for (const table of Object.keys(batch) as (keyof Batch)[])
      await store.appendRows(store.cdmSchema, table, COLUMNS[table], batch[table]);
    summary.persons += batch.person.length;
    summary.conditions += batch.condition_occurrence.length;
    summary.drugs += batch.drug_exposure.length;
  }
  return summary;
}
