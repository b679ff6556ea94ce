/**
 * A small OMOP population for feasibility tests: persons with a made-up condition
 * concept, some of them 65 or older at the event, and a rare condition few persons have.
 * Sizes are parameters so tests can check rounding and suppression against known counts.
 */
import { randomUUID } from 'node:crypto';
import { buildCohort } from '../../cohort/builder.ts';
import type { CohortExpressionJson } from '../../cohort/expression.ts';
import type { TaskBody } from '../../protocol/wire.ts';
import type { SiteStore } from '../store/store.ts';

export const COMMON_CONDITION = 2_000_000_101;
export const RARE_CONDITION = 2_000_000_102;

export interface FixtureSizes {
  /** Persons with the common condition, born 1940 (80 at the event). */
  old: number;
  /** Persons with the common condition, born 1990 (30 at the event). */
  young: number;
  /** Persons with the rare condition (also old). */
  rare: number;
}

/** Loads the population into the store's CDM schema; person ids start at `firstPersonId`. */
export async function loadFeasibilityFixture(
  store: SiteStore,
  sizes: FixtureSizes,
  firstPersonId = 1,
): Promise<void> {
  const cdm = store.cdmSchema;
  await store.transaction(async (tx) => {
    for (const [id, name] of [
      [COMMON_CONDITION, 'Common test condition'],
      [RARE_CONDITION, 'Rare test condition'],
    ] as const)
      await tx.run(
        `INSERT INTO ${cdm}.concept (concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, concept_code, valid_start_date, valid_end_date) VALUES ($1, $2, 'Condition', 'Itda', 'Clinical Finding', 'S', $3, DATE '1970-01-01', DATE '2099-12-31')`,
        [id, name, String(id)],
      );
    let personId = firstPersonId;
    const add = async (yearOfBirth: number, conditionConceptId: number) => {
      const id = personId++;
      await tx.run(
        `INSERT INTO ${cdm}.person (person_id, gender_concept_id, year_of_birth, race_concept_id, ethnicity_concept_id) VALUES ($1, 8532, $2, 0, 0)`,
        [id, yearOfBirth],
      );
      await tx.run(
        `INSERT INTO ${cdm}.observation_period (observation_period_id, person_id, observation_period_start_date, observation_period_end_date, period_type_concept_id) VALUES ($1, $2, DATE '2010-01-01', DATE '2024-12-31', 32817)`,
        [id, id],
      );
      await tx.run(
        `INSERT INTO ${cdm}.condition_occurrence (condition_occurrence_id, person_id, condition_concept_id, condition_start_date, condition_type_concept_id) VALUES ($1, $2, $3, DATE '2020-06-01', 32817)`,
        [id, id, conditionConceptId],
      );
    };
    for (let i = 0; i < sizes.old; i++) await add(1940, COMMON_CONDITION);
    for (let i = 0; i < sizes.young; i++) await add(1990, COMMON_CONDITION);
    for (let i = 0; i < sizes.rare; i++) await add(1940, RARE_CONDITION);
  });
}

/** The common condition, with one inclusion rule "Age 65+". */
export function commonConditionOver65(): CohortExpressionJson {
  return buildCohort({ entry: [{ domain: 'condition', conceptIds: [COMMON_CONDITION] }], age: { min: 65 } });
}

/** The rare condition, no inclusion rules. */
export function rareCondition(): CohortExpressionJson {
  return buildCohort({ entry: [{ domain: 'condition', conceptIds: [RARE_CONDITION] }] });
}

/** A task as the hub sends it, valid for a minute (site-1 and no permit unless given). */
export function testTask(
  body: Pick<TaskBody, 'type' | 'payload'> & Partial<Pick<TaskBody, 'siteId' | 'permitId'>>,
): TaskBody {
  return {
    id: randomUUID(),
    siteId: 'site-1',
    permitId: null,
    issuedAt: new Date().toISOString(),
    expiresAt: new Date(Date.now() + 60_000).toISOString(),
    ...body,
  } as TaskBody;
}
