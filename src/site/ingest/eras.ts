/**
 * condition_era and drug_era in the site store, rebuilt after an ingest for the persons
 * whose condition_occurrence or drug_exposure rows changed, with the OHDSI era rules of
 * `src/fhir/derive.ts` (CDM v5.4 CONDITION_ERA / DRUG_ERA; the OHDSI era-building
 * scripts): conditions joined across gaps of at most 30 days, drug exposures rolled up to
 * RxNorm ingredients and joined across gaps of at most 30 days.
 *
 * Which persons changed is kept in `itda.era_source`: per person, the count and id sum of
 * their condition and drug rows when their eras were last built. A person whose numbers
 * differ now (new rows from an ingest, rows gone) has their eras deleted and derived again;
 * everyone else is left alone, so a re-ingest that adds nothing rebuilds nothing.
 */
import {
  deriveConditionEras,
  deriveDrugEras,
  InMemoryIdAllocator,
  type OmopRow,
  type OmopValue,
} from '../../fhir/index.ts';
import { quoteIdent } from '../../omop/ddl.ts';
import type { SiteStore, SqlValue } from '../store/store.ts';

/**
 * Condition and drug rows read and derived together, about: persons are taken in order until
 * their rows reach this, so memory is bounded however many persons or rows a store holds (a
 * person with more rows is a chunk alone). Chunks of 2,000 persons were 44,000 drug rows each
 * at 20,000 generated patients, and the heap grew to 114 MB reading them (60 MB now).
 */
const ROWS_PER_CHUNK = 10_000;
/** Persons per chunk at most, which bounds the length of each statement's id list. */
const PERSONS_PER_CHUNK = 2_000;

/** Relationships that lead from a drug toward its ingredients, walked when CONCEPT_ANCESTOR has no answer. */
const TOWARD_INGREDIENT = [
  'RxNorm has ing',
  'Consists of',
  'Tradename of',
  'Marketed form of',
  'Box of',
  'Quantified form of',
  'RxNorm is a',
];
const INGREDIENT = `c.concept_class_id = 'Ingredient' AND c.vocabulary_id IN ('RxNorm', 'RxNorm Extension')`;

export interface EraRebuild {
  persons: number;
  conditionEras: number;
  drugEras: number;
}

/**
 * Rebuilds condition_era and drug_era for every person whose condition or drug rows
 * changed since their eras were last built (all persons the first time), in one
 * transaction. Returns how many persons were rebuilt and the eras written for them.
 */
export async function rebuildEras(
  store: SiteStore,
  options: { rowsPerChunk?: number } = {},
): Promise<EraRebuild> {
  const s = quoteIdent(store.cdmSchema);
  return store.transaction(async (tx) => {
    await tx.run('DROP TABLE IF EXISTS itda.era_current');
    await tx.run(
      `CREATE TABLE itda.era_current AS
       SELECT person_id, sum(cn) AS condition_rows, sum(cs) AS condition_id_sum, sum(dn) AS drug_rows, sum(ds) AS drug_id_sum
         FROM (SELECT person_id, count(*) AS cn, sum(condition_occurrence_id) AS cs, 0 AS dn, 0 AS ds
                 FROM ${s}.condition_occurrence GROUP BY person_id
               UNION ALL
               SELECT person_id, 0, 0, count(*), sum(drug_exposure_id) FROM ${s}.drug_exposure GROUP BY person_id) x
        GROUP BY person_id`,
    );
    // Changed: numbers differ from the last build, or the person had rows then and has none now.
    const touched = await tx.all<{ person_id: number; rows: number }>(
      `SELECT t.person_id, COALESCE(c.condition_rows + c.drug_rows, 0) AS rows FROM (
         SELECT person_id FROM (
           SELECT person_id, condition_rows, condition_id_sum, drug_rows, drug_id_sum FROM itda.era_current
           EXCEPT
           SELECT person_id, condition_rows, condition_id_sum, drug_rows, drug_id_sum FROM itda.era_source) changed
         UNION
         SELECT person_id FROM itda.era_source WHERE person_id NOT IN (SELECT person_id FROM itda.era_current)) t
       LEFT JOIN itda.era_current c ON c.person_id = t.person_id
       ORDER BY t.person_id`,
    );
    const result: EraRebuild = { persons: touched.length, conditionEras: 0, drugEras: 0 };
    if (touched.length === 0) {
      await tx.run('DROP TABLE itda.era_current');
      return result;
    }
    const ingredients = new StoreIngredients(tx);
    const chunks = chunkByRows(touched, Math.max(1, options.rowsPerChunk ?? ROWS_PER_CHUNK));
    for (const persons of chunks) {
      const list = persons.join(', ');
      await tx.run(`DELETE FROM ${s}.condition_era WHERE person_id IN (${list})`);
      await tx.run(`DELETE FROM ${s}.drug_era WHERE person_id IN (${list})`);
    }
    const conditionIds = new InMemoryIdAllocator(await nextId(tx, `${s}.condition_era`, 'condition_era_id'));
    const drugIds = new InMemoryIdAllocator(await nextId(tx, `${s}.drug_era`, 'drug_era_id'));
    for (const persons of chunks) {
      const list = persons.join(', ');
      const conditions = (
        await tx.all<Record<string, OmopValue>>(
          `SELECT person_id, condition_concept_id, condition_start_date, condition_end_date
             FROM ${s}.condition_occurrence WHERE person_id IN (${list})`,
        )
      ).map((row): OmopRow => ({ table: 'condition_occurrence', row }));
      result.conditionEras += await writeEras(
        tx,
        'condition_era',
        deriveConditionEras(conditions, conditionIds),
      );
      const drugs = (
        await tx.all<Record<string, OmopValue>>(
          `SELECT person_id, drug_concept_id, drug_exposure_start_date, drug_exposure_end_date, days_supply
             FROM ${s}.drug_exposure WHERE person_id IN (${list})`,
        )
      ).map((row): OmopRow => ({ table: 'drug_exposure', row }));
      await ingredients.prefetch(drugs.map((d) => d.row.drug_concept_id as number));
      result.drugEras += await writeEras(
        tx,
        'drug_era',
        deriveDrugEras(drugs, (id) => ingredients.of(id), drugIds),
      );
    }
    for (const persons of chunks)
      await tx.run(`DELETE FROM itda.era_source WHERE person_id IN (${persons.join(', ')})`);
    await tx.run(
      `INSERT INTO itda.era_source (person_id, condition_rows, condition_id_sum, drug_rows, drug_id_sum)
       SELECT person_id, condition_rows, condition_id_sum, drug_rows, drug_id_sum FROM itda.era_current
        WHERE person_id IN (SELECT person_id FROM itda.era_current EXCEPT SELECT person_id FROM itda.era_source)`,
    );
    await tx.run('DROP TABLE itda.era_current');
    return result;
  });
}

/** Consecutive persons, each chunk's rows reaching `limit` at most unless one person has more. */
function chunkByRows(persons: readonly { person_id: number; rows: number }[], limit: number): number[][] {
  const chunks: number[][] = [];
  let chunk: number[] = [];
  let rows = 0;
  for (const { person_id, rows: own } of persons) {
    if (chunk.length > 0 && (rows + own > limit || chunk.length === PERSONS_PER_CHUNK)) {
      chunks.push(chunk);
      chunk = [];
      rows = 0;
    }
    chunk.push(person_id);
    rows += own;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}

async function nextId(tx: SiteStore, table: string, column: string): Promise<number> {
  const [row] = await tx.all<{ n: number | null }>(`SELECT max(${column}) AS n FROM ${table}`);
  return (row?.n ?? 0) + 1;
}

async function writeEras(
  tx: SiteStore,
  table: 'condition_era' | 'drug_era',
  eras: OmopRow[],
): Promise<number> {
  if (eras.length === 0) return 0;
  const columns = Object.keys(eras[0]!.row);
  return tx.appendRows(
    tx.cdmSchema,
    table,
    columns,
    eras.map((e) => columns.map((c) => e.row[c] as SqlValue)),
  );
}

/**
 * Ingredients of drug concepts, from the store's vocabulary: CONCEPT_ANCESTOR's RxNorm
 * (Extension) ingredients, as the OHDSI drug era script uses; for a drug the ancestor table
 * does not know (a vocabulary subset such as Eunomia ships it empty), the RxNorm
 * relationships toward its ingredients, up to five steps.
 */
class StoreIngredients {
  private readonly known = new Map<number, number[]>();

  constructor(private readonly tx: SiteStore) {}

  of(drugConceptId: number): readonly number[] {
    return this.known.get(drugConceptId) ?? [];
  }

  async prefetch(drugConceptIds: readonly number[]): Promise<void> {
    const s = quoteIdent(this.tx.cdmSchema);
    const wanted = [...new Set(drugConceptIds)].filter((id) => id !== 0 && !this.known.has(id));
    if (wanted.length === 0) return;
    for (const id of wanted) this.known.set(id, []);
    const add = (drug: number, ingredient: number) => {
      const list = this.known.get(drug)!;
      if (!list.includes(ingredient)) list.push(ingredient);
    };
    for (let i = 0; i < wanted.length; i += 1000) {
      const chunk = wanted.slice(i, i + 1000).join(', ');
      // An ingredient is its own ingredient, whether or not the ancestor table lists the self-row.
      for (const r of await this.tx.all<{ id: number }>(
        `SELECT c.concept_id AS id FROM ${s}.concept c WHERE c.concept_id IN (${chunk}) AND ${INGREDIENT}`,
      ))
        add(r.id, r.id);
      for (const r of await this.tx.all<{ drug: number; ingredient: number }>(
        `SELECT a.descendant_concept_id AS drug, a.ancestor_concept_id AS ingredient
           FROM ${s}.concept_ancestor a JOIN ${s}.concept c ON c.concept_id = a.ancestor_concept_id
          WHERE a.descendant_concept_id IN (${chunk}) AND ${INGREDIENT}`,
      ))
        add(r.drug, r.ingredient);
    }
    await this.walkRelationships(wanted.filter((id) => this.known.get(id)!.length === 0));
    for (const list of this.known.values()) list.sort((a, b) => a - b);
  }

  /** Breadth-first from each drug along TOWARD_INGREDIENT, stopping at ingredients. */
  private async walkRelationships(drugs: readonly number[]): Promise<void> {
    const s = quoteIdent(this.tx.cdmSchema);
    const relationships = TOWARD_INGREDIENT.map((r) => `'${r}'`).join(', ');
    // frontier: concept reached → the drugs it was reached from
    let frontier = new Map<number, Set<number>>(drugs.map((d) => [d, new Set([d])]));
    const seen = new Map<number, Set<number>>(drugs.map((d) => [d, new Set([d])]));
    for (let depth = 0; depth < 5 && frontier.size > 0; depth++) {
      const next = new Map<number, Set<number>>();
      const ids = [...frontier.keys()];
      for (let i = 0; i < ids.length; i += 1000) {
        const rows = await this.tx.all<{ source: number; target: number; ingredient: boolean }>(
          `SELECT r.concept_id_1 AS source, r.concept_id_2 AS target, (${INGREDIENT}) AS ingredient
             FROM ${s}.concept_relationship r JOIN ${s}.concept c ON c.concept_id = r.concept_id_2
            WHERE r.concept_id_1 IN (${ids.slice(i, i + 1000).join(', ')}) AND r.invalid_reason IS NULL
              AND r.relationship_id IN (${relationships})`,
        );
        for (const { source, target, ingredient } of rows) {
          for (const drug of frontier.get(source) ?? []) {
            const visited = seen.get(drug)!;
            if (visited.has(target)) continue;
            visited.add(target);
            if (ingredient) this.known.get(drug)!.push(target);
            else {
              if (!next.has(target)) next.set(target, new Set());
              next.get(target)!.add(drug);
            }
          }
        }
      }
      frontier = next;
    }
  }
}
