/**
 * Forward-only, numbered hub migrations. Each runs in its own transaction and is
 * recorded in itda_migration; a landed migration is never edited — add a new one.
 */
import { type Kysely, sql } from 'kysely';
import type { HubDatabase } from './schema.ts';

export interface Migration {
  id: number;
  name: string;
  up(db: Kysely<HubDatabase>): Promise<void>;
}

export const HUB_MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'sites, tasks, users',
    async up(db) {
      await sql`
        create table site (
          id text primary key,
          name text not null,
          public_key text not null unique,
          status text not null check (status in ('pending', 'approved', 'suspended')),
          software text not null,
          registered_at timestamptz not null default now(),
          approved_at timestamptz,
          last_seen_at timestamptz
        )`.execute(db);
      await sql`
        create table site_nonce (
          site_id text not null references site(id) on delete cascade,
          nonce text not null,
          seen_at timestamptz not null,
          primary key (site_id, nonce)
        )`.execute(db);
      await sql`create index site_nonce_seen_at on site_nonce (seen_at)`.execute(db);
      await sql`
        create table task (
          id uuid primary key,
          site_id text not null references site(id),
          type text not null,
          permit_id text,
          signed jsonb not null,
          status text not null check (status in ('queued', 'delivered', 'done', 'refused', 'failed', 'expired')),
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          delivered_at timestamptz,
          completed_at timestamptz,
          result jsonb,
          error jsonb
        )`.execute(db);
      await sql`create index task_site_status on task (site_id, status)`.execute(db);
      await sql`
        create table app_user (
          id uuid primary key,
          email text not null unique,
          name text not null,
          password_hash text not null,
          roles jsonb not null,
          created_at timestamptz not null default now()
        )`.execute(db);
      await sql`
        create table session (
          token_hash text primary key,
          user_id uuid not null references app_user(id) on delete cascade,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null
        )`.execute(db);
    },
  },
  {
    id: 2,
    name: 'site reports (quality, profile)',
    async up(db) {
      await sql`
        create table site_report (
          id bigserial primary key,
          site_id text not null references site(id),
          kind text not null check (kind in ('quality', 'profile')),
          generated_at timestamptz not null,
          received_at timestamptz not null default now(),
          body jsonb not null
        )`.execute(db);
      await sql`create index site_report_latest on site_report (site_id, kind, received_at desc)`.execute(db);
    },
  },
  {
    id: 3,
    name: 'hash-chained audit log',
    async up(db) {
      // Text and json (not jsonb) keep every byte as hashed, so verification is exact.
      await sql`
        create table audit_entry (
          seq bigint primary key,
          at text not null,
          actor_type text not null,
          actor_id text,
          action text not null,
          target_type text,
          target_id text,
          details json not null,
          prev_hash text not null,
          hash text not null unique,
          signature text not null
        )`.execute(db);
      await sql`create index audit_entry_target on audit_entry (target_type, target_id)`.execute(db);
      await sql`create index audit_entry_actor on audit_entry (actor_type, actor_id)`.execute(db);
    },
  },
  {
    id: 4,
    name: 'catalog datasets with versions, search grams; hub vocabulary',
    async up(db) {
      // The current version of each dataset, with the columns that filters and sorts use.
      await sql`
        create table dataset (
          id uuid primary key,
          site_id text not null references site(id),
          version integer not null,
          title_ko text not null,
          title_en text not null,
          access_rights text not null check (access_rights in ('PUBLIC', 'RESTRICTED', 'NON_PUBLIC')),
          modalities jsonb not null,
          duo_codes jsonb not null,
          individuals bigint,
          body jsonb not null,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index dataset_site on dataset (site_id)`.execute(db);
      // Every version ever saved, the current one included: edits never overwrite history.
      await sql`
        create table dataset_version (
          dataset_id uuid not null references dataset(id) on delete cascade,
          version integer not null,
          body jsonb not null,
          edited_by text not null,
          edited_at timestamptz not null default now(),
          primary key (dataset_id, version)
        )`.execute(db);
      // Character n-grams of the current version's text (works alike on PGlite and PostgreSQL).
      await sql`
        create table dataset_gram (
          dataset_id uuid not null references dataset(id) on delete cascade,
          gram text not null,
          weight smallint not null,
          primary key (dataset_id, gram)
        )`.execute(db);
      await sql`create index dataset_gram_gram on dataset_gram (gram)`.execute(db);
      // The hub's copy of the OMOP vocabulary (CONCEPT, CONCEPT_SYNONYM): no patient data.
      await sql`
        create table concept (
          concept_id integer primary key,
          concept_name text not null,
          domain_id text not null,
          vocabulary_id text not null,
          concept_class_id text not null,
          standard_concept text,
          concept_code text not null,
          invalid_reason text
        )`.execute(db);
      await sql`create index concept_code_lower on concept (lower(concept_code))`.execute(db);
      await sql`
        create table concept_synonym (
          concept_id integer not null,
          concept_synonym_name text not null,
          language_concept_id integer not null,
          primary key (concept_id, concept_synonym_name, language_concept_id)
        )`.execute(db);
      await sql`
        create table concept_gram (
          concept_id integer not null,
          gram text not null,
          primary key (concept_id, gram)
        )`.execute(db);
      await sql`create index concept_gram_gram on concept_gram (gram)`.execute(db);
    },
  },
];

export async function runMigrations(
  db: Kysely<HubDatabase>,
  migrations: readonly Migration[] = HUB_MIGRATIONS,
): Promise<number[]> {
  await sql`
    create table if not exists itda_migration (
      id integer primary key,
      name text not null,
      applied_at timestamptz not null default now()
    )`.execute(db);
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.id - b.id)) {
    const ran = await db.transaction().execute(async (trx) => {
      // Two hubs starting together on one PostgreSQL must not both run a migration.
      await sql`select pg_advisory_xact_lock(4242, ${migration.id})`.execute(trx);
      const done = await trx
        .selectFrom('itda_migration')
        .select('id')
        .where('id', '=', migration.id)
        .executeTakeFirst();
      if (done) return false;
      await migration.up(trx);
      await trx.insertInto('itda_migration').values({ id: migration.id, name: migration.name }).execute();
      return true;
    });
    if (ran) applied.push(migration.id);
  }
  return applied;
}
