/**
 * The site store's own forward-only migrations (schema `itda`), separate from the
 * CDM tables. Each runs in one transaction and is recorded; never edit a landed one.
 */
import { cdmDdl, cdmIndexes } from '../../omop/ddl.ts';
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
];

/**
 * Creates the CDM schema (unless the site reads an existing, read-only one) and applies
 * pending site migrations. Safe to run at every start.
 */
export async function migrateSiteStore(
  store: SiteStore,
  options: { createCdm?: boolean; migrations?: readonly SiteMigration[] } = {},
): Promise<number[]> {
  if (options.createCdm ?? true) {
    for (const statement of cdmDdl(store.kind, store.cdmSchema)) await store.run(statement);
    if (store.kind === 'postgres')
      for (const statement of cdmIndexes(store.cdmSchema)) await store.run(statement);
  }
  await store.run('CREATE SCHEMA IF NOT EXISTS itda');
  await store.run(
    'CREATE TABLE IF NOT EXISTS itda.migration (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)',
  );
  const done = new Set((await store.all<{ id: number }>('SELECT id FROM itda.migration')).map((r) => r.id));
  const applied: number[] = [];
  for (const migration of [...(options.migrations ?? SITE_MIGRATIONS)].sort((a, b) => a.id - b.id)) {
    if (done.has(migration.id)) continue;
    await store.transaction(async (tx) => {
      await migration.up(tx);
      await tx.run('INSERT INTO itda.migration (id, name, applied_at) VALUES ($1, $2, $3)', [
        migration.id,
        migration.name,
        new Date().toISOString(),
      ]);
    });
    applied.push(migration.id);
  }
  return applied;
}
