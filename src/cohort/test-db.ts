/**
 * Test support for the cohort engine: a site store per dialect (DuckDB file, throw-away
 * PostgreSQL database) with CDM tables and the cohort result tables, and loaders for the
 * Circe test fixtures and the Eunomia CSVs. Used by the cohort tests only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { openTestStore, type SiteDialect, type TestStore } from '../../test/support/site-store.ts';
import { readDelimited } from '../omop/csv-stream.ts';
import { createTableSql, quoteIdent } from '../omop/ddl.ts';
import { cdmTable } from '../omop/schema.ts';
import { cohortResultTablesDdl } from './compile.ts';

export const SHARED_DATA = path.resolve(import.meta.dirname, '../../../shared/data');
export const CIRCE_TESTS = path.join(SHARED_DATA, 'circe-tests');
export const EUNOMIA = path.join(SHARED_DATA, 'eunomia-synthea27nj-5.4');
export const PHENOTYPES = path.join(SHARED_DATA, 'phenotype-library');
export const RESULT_SCHEMA = 'results';
/** Schema of the relaxed CDM tables the Circe fixtures load into. */
export const CIRCE_CDM_SCHEMA = 'circe_cdm';

type SqlValue = string | number | boolean | null;

/**
 * A site store with the cohort result tables. `relaxedCdm` creates the CDM tables with
 * every column nullable and no primary keys: Circe's fixtures are CDM v5.0-shaped (no
 * drug_exposure_end_date, duplicate ids) and would not load into the strict v5.4 DDL.
 */
export async function openCohortTestStore(
  dialect: SiteDialect,
  options: { relaxedCdm: boolean },
): Promise<TestStore | undefined> {
  const t = await openTestStore(dialect);
  if (!t) return undefined;
  const store = t.store;
  if (options.relaxedCdm) {
    await store.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(CIRCE_CDM_SCHEMA)}`);
    for (const name of CIRCE_TABLES) {
      const spec = cdmTable(name)!;
      const relaxed = {
        ...spec,
        primaryKey: null,
        columns: spec.columns.map((c) => ({ ...c, isRequired: false })),
      };
      await store.run(createTableSql(relaxed, store.kind, CIRCE_CDM_SCHEMA));
    }
  }
  for (const statement of cohortResultTablesDdl(store.kind, RESULT_SCHEMA)) await store.run(statement);
  return t;
}

/** Every table a Circe fixture fills. */
export const CIRCE_TABLES = [
  'concept',
  'concept_ancestor',
  'concept_relationship',
  'person',
  'observation_period',
  'condition_occurrence',
  'condition_era',
  'death',
  'device_exposure',
  'drug_era',
  'dose_era',
  'drug_exposure',
  'measurement',
  'observation',
  'payer_plan_period',
  'procedure_occurrence',
  'specimen',
  'visit_occurrence',
  'visit_detail',
  'provider',
  'care_site',
];

export const RESULT_TABLES = [
  'cohort',
  'cohort_inclusion',
  'cohort_inclusion_result',
  'cohort_inclusion_stats',
  'cohort_summary_stats',
  'cohort_censor_stats',
];

/** Empties the CDM and result tables between fixtures. */
export async function clearTables(t: TestStore, schema: string): Promise<void> {
  const store = t.store;
  for (const table of CIRCE_TABLES) await store.run(`DELETE FROM ${quoteIdent(schema)}.${table}`);
  for (const table of RESULT_TABLES) await store.run(`DELETE FROM ${RESULT_SCHEMA}.${table}`);
}

/** Loads a Circe fixture (`{"cdm.person": [{...}], ...}`) into the CDM schema. */
export async function loadCirceRows(
  t: TestStore,
  schema: string,
  fixture: Record<string, Record<string, SqlValue>[]>,
): Promise<void> {
  for (const [key, rows] of Object.entries(fixture)) {
    const table = key.replace(/^cdm\./, '');
    if (rows.length === 0) continue;
    // CDM 5.2 fixtures carry observation_period datetimes, which v5.4 dropped.
    const known = new Set(cdmTable(table)?.columns.map((c) => c.name));
    const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => known.has(c));
    await t.store.appendRows(
      schema,
      table,
      columns,
      rows.map((r) => columns.map((c) => r[c] ?? null)),
    );
  }
}

export function readJson<T = unknown>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

/** Loads one Eunomia CSV (OMOP headers) into the CDM table of the same name; empty fields are NULL. */
export async function loadEunomiaTable(t: TestStore, table: string): Promise<number> {
  const file = path.join(EUNOMIA, `${table.toUpperCase()}.csv`);
  let header: string[] | undefined;
  const rows: SqlValue[][] = [];
  for await (const record of readDelimited(file)) {
    if (!header) {
      header = record.fields.map((f) => f.trim().toLowerCase());
      continue;
    }
    rows.push(record.fields.map((f) => (f === '' ? null : f)));
  }
  if (!header) return 0;
  return t.store.appendRows(t.store.cdmSchema, table, header, rows);
}

/**
 * Eunomia ships CONCEPT_ANCESTOR empty; this derives it from the 'Is a' rows of
 * CONCEPT_RELATIONSHIP (transitive closure with min/max levels, self rows at level 0)
 * so concept sets with descendants behave as on a full vocabulary.
 */
export async function deriveEunomiaConceptAncestor(t: TestStore): Promise<number> {
  const parents = new Map<string, string[]>();
  let header: string[] | undefined;
  for await (const record of readDelimited(path.join(EUNOMIA, 'CONCEPT_RELATIONSHIP.csv'))) {
    if (!header) {
      header = record.fields.map((f) => f.trim().toLowerCase());
      continue;
    }
    const row = Object.fromEntries(header.map((h, i) => [h, record.fields[i]]));
    if (row.relationship_id !== 'Is a' || row.invalid_reason) continue;
    const list = parents.get(row.concept_id_1!) ?? [];
    list.push(row.concept_id_2!);
    parents.set(row.concept_id_1!, list);
  }
  const concepts = new Set<string>();
  for await (const record of readDelimited(path.join(EUNOMIA, 'CONCEPT.csv'))) {
    if (record.line > 1) concepts.add(record.fields[0]!);
  }
  const rows: SqlValue[][] = [];
  for (const descendant of concepts) {
    // Breadth-first up the 'Is a' graph: first visit = fewest levels; keep the most too.
    const levels = new Map<string, [number, number]>([[descendant, [0, 0]]]);
    let frontier = [descendant];
    for (let depth = 1; frontier.length > 0 && depth < 50; depth++) {
      const next: string[] = [];
      for (const child of frontier)
        for (const parent of parents.get(child) ?? []) {
          const seen = levels.get(parent);
          if (seen) seen[1] = Math.max(seen[1], depth);
          else {
            levels.set(parent, [depth, depth]);
            next.push(parent);
          }
        }
      frontier = next;
    }
    for (const [ancestor, [min, max]] of levels) rows.push([ancestor, descendant, min, max]);
  }
  return t.store.appendRows(
    t.store.cdmSchema,
    'concept_ancestor',
    ['ancestor_concept_id', 'descendant_concept_id', 'min_levels_of_separation', 'max_levels_of_separation'],
    rows,
  );
}
