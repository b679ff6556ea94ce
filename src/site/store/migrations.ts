/**
 * The site store's own forward-only migrations (schema `itda`), separate from the CDM
 * tables. Each runs in one transaction and is recorded in `itda.migration`. Never edit
 * or renumber a landed migration: append a new one to `SITE_MIGRATIONS`, using SQL both
 * dialects accept (VARCHAR, BIGINT, TIMESTAMP, …) and `store.cdmSchema` for CDM tables.
 */
import { cdmDdl, cdmIndexes } from '../../omop/ddl.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { SiteStore } from './store.ts';

export interface SiteMigration {
  id: number;
  name: string;
  up(store: SiteStore): Promise<void>;
}

export const SITE_MIGRATIONS: SiteMigration[] = [
  {
    id: 1,
    name: 'site metadata',
    async up(store) {
      await store.run(
        'CREATE TABLE IF NOT EXISTS itda.site_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)',
      );
    },
  },
  {
    id: 2,
    name: 'FHIR ingest: identity map, ingested files, imaging extension',
    async up(store) {
      // Stable FHIR key → OMOP id, so a resource keeps its id across runs and files.
      await store.run(
        'CREATE TABLE IF NOT EXISTS itda.id_map (namespace VARCHAR NOT NULL, key VARCHAR NOT NULL, omop_id BIGINT NOT NULL, PRIMARY KEY (namespace, key))',
      );
      await store.run(
        'CREATE TABLE IF NOT EXISTS itda.ingested_file (sha256 VARCHAR PRIMARY KEY, path VARCHAR NOT NULL, resources BIGINT NOT NULL, rows_written BIGINT NOT NULL, quarantined BIGINT NOT NULL, finished_at TIMESTAMP NOT NULL)',
      );
      // OMOP Medical Imaging extension (MI-CDM): one row per imaging series.
      await store.run(`CREATE TABLE IF NOT EXISTS ${store.cdmSchema}.image_occurrence (
        image_occurrence_id BIGINT PRIMARY KEY, person_id BIGINT NOT NULL, procedure_occurrence_id BIGINT,
        visit_occurrence_id BIGINT, anatomic_site_concept_id INTEGER, wadors_uri VARCHAR, local_path VARCHAR,
        image_occurrence_date DATE NOT NULL, image_study_uid VARCHAR, image_series_uid VARCHAR, modality_concept_id INTEGER)`);
    },
  },
  {
    id: 3,
    name: "era bookkeeping: the condition and drug rows each person's eras were built from",
    async up(store) {
      // Count and id sum per person at the last era build: a person whose numbers change is rebuilt.
      await store.run(
        'CREATE TABLE IF NOT EXISTS itda.era_source (person_id BIGINT PRIMARY KEY, condition_rows BIGINT NOT NULL, condition_id_sum BIGINT NOT NULL, drug_rows BIGINT NOT NULL, drug_id_sum BIGINT NOT NULL)',
      );
    },
  },
  {
    id: 4,
    name: 'identity map without an index on DuckDB',
    async up(store) {
      // DuckDB keeps a PRIMARY KEY as an ART index in memory and rewrites it at checkpoints:
      // on a large ingest it cost more than the rows themselves and grew memory with the
      // input. The FHIR ingest writes only keys it knows are not there yet, and DuckDB's
      // file lock allows one writer, so the keys stay unique. PostgreSQL keeps its key.
      if (store.kind !== 'duckdb') return;
      await store.run(
        'CREATE TABLE itda.id_map_unindexed (namespace VARCHAR NOT NULL, key VARCHAR NOT NULL, omop_id BIGINT NOT NULL)',
      );
      await store.run('INSERT INTO itda.id_map_unindexed SELECT namespace, key, omop_id FROM itda.id_map');
      await store.run('DROP TABLE itda.id_map');
      await store.run('ALTER TABLE itda.id_map_unindexed RENAME TO id_map');
    },
  },
  {
    id: 5,
    name: 'FHIR ingest: files committed in parts',
    async up(store) {
      // A large file commits as it goes; until its last part it is listed here with the id
      // range it allocated, and the rows it wrote under older ids, so they can be undone.
      await store.run(
        'CREATE TABLE IF NOT EXISTS itda.partial_file (sha256 VARCHAR PRIMARY KEY, path VARCHAR NOT NULL, first_id BIGINT NOT NULL, last_id BIGINT NOT NULL, started_at TIMESTAMP NOT NULL)',
      );
      await store.run(
        'CREATE TABLE IF NOT EXISTS itda.partial_file_row (sha256 VARCHAR NOT NULL, table_name VARCHAR NOT NULL, id BIGINT NOT NULL)',
      );
    },
  },
];

/** Serializes concurrent migrators (two site processes on one PostgreSQL); DuckDB's file lock already does. */
async function lockMigrations(tx: SiteStore): Promise<void> {
  if (tx.kind === 'postgres') await tx.run("SELECT pg_advisory_xact_lock(hashtext('itda.migration'))");
}

function checkMigrationList(migrations: readonly SiteMigration[]): SiteMigration[] {
  const sorted = [...migrations].sort((a, b) => a.id - b.id);
  sorted.forEach((m, i) => {
    if (!Number.isInteger(m.id) || m.id < 1 || (i > 0 && sorted[i - 1]!.id === m.id)) {
      throw new ItdaError('internal', `site migration ids must be distinct positive integers (${m.id})`);
    }
  });
  return sorted;
}

/**
 * Creates the CDM schema and tables (unless the site reads an existing, read-only CDM)
 * and applies the pending site migrations, each in its own transaction together with its
 * row in `itda.migration`. Idempotent: safe to run at every start. Returns the ids it
 * applied. A store migrated by a newer Itda (a migration this code does not know) is
 * refused rather than used half-understood.
 */
export async function migrateSiteStore(
  store: SiteStore,
  options: { createCdm?: boolean; migrations?: readonly SiteMigration[] } = {},
): Promise<number[]> {
  const migrations = checkMigrationList(options.migrations ?? SITE_MIGRATIONS);
  await store.transaction(async (tx) => {
    await lockMigrations(tx);
    if (options.createCdm ?? true) {
      for (const statement of cdmDdl(store.kind, store.cdmSchema)) await tx.run(statement);
      if (store.kind === 'postgres') {
        for (const statement of cdmIndexes(store.cdmSchema)) await tx.run(statement);
      }
    }
    await tx.run('CREATE SCHEMA IF NOT EXISTS itda');
    await tx.run(
      'CREATE TABLE IF NOT EXISTS itda.migration (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)',
    );
  });

  const done = new Set((await store.all<{ id: number }>('SELECT id FROM itda.migration')).map((r) => r.id));
  const known = new Set(migrations.map((m) => m.id));
  const unknown = [...done].filter((id) => !known.has(id));
  if (unknown.length) {
    throw new ItdaError(
      'unsupported',
      `the site store ${store.location} has migrations this version of Itda does not know (${unknown.join(', ')}); upgrade Itda`,
    );
  }
  const applied: number[] = [];
  for (const migration of migrations) {
    if (done.has(migration.id)) continue;
    const ran = await store.transaction(async (tx) => {
      await lockMigrations(tx);
      // Another process may have applied it while this one waited for the lock.
      const [already] = await tx.all('SELECT 1 AS done FROM itda.migration WHERE id = $1', [migration.id]);
      if (already) return false;
      await migration.up(tx);
      await tx.run('INSERT INTO itda.migration (id, name, applied_at) VALUES ($1, $2, $3)', [
        migration.id,
        migration.name,
        new Date(),
      ]);
      return true;
    });
    if (ran) applied.push(migration.id);
  }
  return applied;
}
