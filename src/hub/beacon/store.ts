/** The beacon reads the hub's vocabulary copy (no patient data) to know each filter concept's domain. */
import type { Kysely } from 'kysely';
import type { HubDatabase } from '../db/schema.ts';

export interface BeaconConcept {
  concept_id: number;
  concept_name: string;
  domain_id: string;
  vocabulary_id: string;
  concept_code: string;
}

const COLUMNS = ['concept_id', 'concept_name', 'domain_id', 'vocabulary_id', 'concept_code'] as const;

export async function conceptsById(db: Kysely<HubDatabase>, ids: number[]): Promise<BeaconConcept[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('concept').select(COLUMNS).where('concept_id', 'in', ids).execute();
}

/** Standard concepts of the given domains, by id, one page. */
export async function standardConcepts(
  db: Kysely<HubDatabase>,
  domains: readonly string[],
  page: { skip: number; limit: number },
): Promise<BeaconConcept[]> {
  return db
    .selectFrom('concept')
    .select(COLUMNS)
    .where('standard_concept', '=', 'S')
    .where('domain_id', 'in', [...domains])
    .orderBy('concept_id')
    .offset(page.skip)
    .limit(page.limit)
    .execute();
}
