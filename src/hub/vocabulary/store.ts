/** SQL for the hub's vocabulary copy: concepts, synonyms and their search grams. */
import { type Kysely, sql } from 'kysely';
import type { ConceptTable, HubDatabase } from '../db/schema.ts';

export type ConceptRow = ConceptTable;

// PostgreSQL takes at most 65,535 bind parameters per statement.
const CONCEPT_BATCH = 4000;
const PAIR_BATCH = 10_000;
const GRAM_BATCH = 50_000;

/** Inserts or replaces concepts, and replaces their name grams. */
export async function upsertConcepts(
  db: Kysely<HubDatabase>,
  concepts: ConceptRow[],
  grams: { concept_id: number; gram: string }[],
): Promise<void> {
  for (let i = 0; i < concepts.length; i += CONCEPT_BATCH) {
    await db
      .insertInto('concept')
      .values(concepts.slice(i, i + CONCEPT_BATCH))
      .onConflict((oc) =>
        oc.column('concept_id').doUpdateSet((eb) => ({
          concept_name: eb.ref('excluded.concept_name'),
          domain_id: eb.ref('excluded.domain_id'),
          vocabulary_id: eb.ref('excluded.vocabulary_id'),
          concept_class_id: eb.ref('excluded.concept_class_id'),
          standard_concept: eb.ref('excluded.standard_concept'),
          concept_code: eb.ref('excluded.concept_code'),
          invalid_reason: eb.ref('excluded.invalid_reason'),
        })),
      )
      .execute();
  }
  const ids = concepts.map((c) => c.concept_id);
  for (let i = 0; i < ids.length; i += PAIR_BATCH)
    await db
      .deleteFrom('concept_gram')
      .where('concept_id', 'in', ids.slice(i, i + PAIR_BATCH))
      .execute();
  await insertGrams(db, grams);
}

/** Gram rows go in as two arrays per statement (unnest): far fewer parameters to bind and parse. */
export async function insertGrams(db: Kysely<HubDatabase>, grams: { concept_id: number; gram: string }[]) {
  for (let i = 0; i < grams.length; i += GRAM_BATCH) {
    const slice = grams.slice(i, i + GRAM_BATCH);
    await sql`insert into concept_gram (concept_id, gram)
      select * from unnest(${slice.map((g) => g.concept_id)}::integer[], ${slice.map((g) => g.gram)}::text[])
      on conflict do nothing`.execute(db);
  }
}

export async function insertSynonyms(
  db: Kysely<HubDatabase>,
  synonyms: { concept_id: number; concept_synonym_name: string; language_concept_id: number }[],
): Promise<void> {
  for (let i = 0; i < synonyms.length; i += PAIR_BATCH / 2)
    await db
      .insertInto('concept_synonym')
      .values(synonyms.slice(i, i + PAIR_BATCH / 2))
      .onConflict((oc) => oc.doNothing())
      .execute();
}

/** Concepts named in Hangul (the Korean syllable block U+AC00–U+D7A3). */
export async function conceptsWithHangulNames(db: Kysely<HubDatabase>) {
  return db
    .selectFrom('concept')
    .select(['concept_id', 'concept_name'])
    .where(sql<boolean>`concept_name ~ '[가-힣]'`)
    .execute();
}

export async function countConcepts(db: Kysely<HubDatabase>): Promise<number> {
  const row = await db
    .selectFrom('concept')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface ConceptSearch {
  code: string;
  namePrefix: string;
  grams: string[];
  required: number;
  domain?: string;
  vocabulary?: string;
  standard?: boolean;
  limit: number;
}

export interface ConceptHitRow extends ConceptRow {
  rank: number;
  hits: number;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (ch) => `\\${ch}`);
}

/**
 * Ranked concepts: an exact code first (rank 0), then a name or synonym starting with
 * the query (1), then n-gram matches (2) by the share of grams found and shorter names.
 */
export async function searchConcepts(db: Kysely<HubDatabase>, s: ConceptSearch): Promise<ConceptHitRow[]> {
  const prefix = `${escapeLike(s.namePrefix)}%`;
  const gramMatches = db
    .selectFrom('concept_gram')
    .select(['concept_id', sql<number>`count(*)`.as('hits')])
    .where('gram', 'in', s.grams.length > 0 ? s.grams : [''])
    .groupBy('concept_id')
    .having(sql`count(*)`, '>=', Math.max(1, s.required));
  const codeMatches = db
    .selectFrom('concept')
    .select(['concept_id', sql<number>`0`.as('hits')])
    .where(sql`lower(concept_code)`, '=', s.code);
  const candidates = gramMatches.union(codeMatches);
  const rows = await db
    .selectFrom(candidates.as('m'))
    .innerJoin('concept as c', 'c.concept_id', 'm.concept_id')
    .select([
      'c.concept_id',
      'c.concept_name',
      'c.domain_id',
      'c.vocabulary_id',
      'c.concept_class_id',
      'c.standard_concept',
      'c.concept_code',
      'c.invalid_reason',
      sql<number>`max(m.hits)`.as('hits'),
      sql<number>`min(case
        when lower(c.concept_code) = ${s.code} then 0
        when lower(c.concept_name) like ${prefix} escape '\\' then 1
        when exists (select 1 from concept_synonym cs where cs.concept_id = c.concept_id
          and lower(cs.concept_synonym_name) like ${prefix} escape '\\') then 1
        else 2 end)`.as('rank'),
    ])
    .$if(!!s.domain, (q) => q.where('c.domain_id', '=', s.domain!))
    .$if(!!s.vocabulary, (q) => q.where('c.vocabulary_id', '=', s.vocabulary!))
    .$if(s.standard === true, (q) => q.where('c.standard_concept', '=', 'S'))
    .$if(s.standard === false, (q) =>
      q.where((eb) => eb.or([eb('c.standard_concept', 'is', null), eb('c.standard_concept', '!=', 'S')])),
    )
    // concept_id is the key, so PostgreSQL lets the other columns follow it ungrouped.
    .groupBy('c.concept_id')
    .orderBy('rank')
    .orderBy('hits', 'desc')
    .orderBy(sql`length(c.concept_name)`)
    .orderBy('c.concept_id')
    .limit(s.limit)
    .execute();
  return rows.map((r) => ({ ...r, rank: Number(r.rank), hits: Number(r.hits) }));
}

export async function synonymsOf(db: Kysely<HubDatabase>, conceptIds: number[]) {
  if (conceptIds.length === 0) return [];
  return db
    .selectFrom('concept_synonym')
    .select(['concept_id', 'concept_synonym_name', 'language_concept_id'])
    .where('concept_id', 'in', conceptIds)
    .orderBy('concept_id')
    .orderBy('concept_synonym_name')
    .execute();
}
