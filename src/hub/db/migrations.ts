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
  {
    id: 5,
    name: 'feasibility queries and their per-site answers',
    async up(db) {
      await sql`
        create table feasibility_query (
          id uuid primary key,
          user_id uuid not null references app_user(id),
          name text,
          definition jsonb not null,
          definition_hash text not null,
          inclusion_rules jsonb not null,
          timeout_seconds integer not null,
          status text not null check (status in ('running', 'complete', 'refused')),
          refusal text,
          created_at timestamptz not null default now(),
          deadline timestamptz not null,
          completed_at timestamptz
        )`.execute(db);
      await sql`create index feasibility_query_user on feasibility_query (user_id, created_at)`.execute(db);
      await sql`
        create table feasibility_site (
          query_id uuid not null references feasibility_query(id) on delete cascade,
          site_id text not null,
          task_id uuid references task(id),
          send_error jsonb,
          status text check (status in ('answered', 'refused', 'failed', 'not_answering')),
          answer jsonb,
          error jsonb,
          answered_at timestamptz,
          primary key (query_id, site_id)
        )`.execute(db);
    },
  },
  {
    id: 6,
    name: 'organisations, per-site roles, API keys, login attempts',
    async up(db) {
      await sql`
        create table organisation (
          id text primary key,
          name_ko text not null,
          name_en text not null,
          kind text not null check (kind in ('hospital', 'company', 'university', 'operator')),
          created_at timestamptz not null default now()
        )`.execute(db);
      // One organisation per user is the membership; OIDC accounts may have no password.
      await sql`alter table app_user add column organisation_id text references organisation(id)`.execute(db);
      await sql`alter table app_user add column active boolean not null default true`.execute(db);
      await sql`alter table app_user alter column password_hash drop not null`.execute(db);
      await sql`alter table app_user add column oidc_subject text unique`.execute(db);
      // Sites register after accounts exist (and may be re-registered), so no foreign key to site.
      await sql`
        create table user_site_role (
          user_id uuid not null references app_user(id) on delete cascade,
          site_id text not null,
          role text not null check (role in ('steward', 'drb_member')),
          primary key (user_id, site_id, role)
        )`.execute(db);
      await sql`create index user_site_role_site on user_site_role (site_id, role)`.execute(db);
      // The CSRF token is bound to its session: a cookie planted from elsewhere does not match.
      await sql`alter table session add column csrf_hash text`.execute(db);
      await sql`
        create table api_key (
          id text primary key,
          user_id uuid not null references app_user(id) on delete cascade,
          name text not null,
          secret_hash text not null,
          scopes jsonb not null,
          created_at timestamptz not null default now(),
          expires_at timestamptz,
          revoked_at timestamptz,
          last_used_at timestamptz
        )`.execute(db);
      await sql`create index api_key_user on api_key (user_id)`.execute(db);
      await sql`
        create table login_failure (
          id bigserial primary key,
          email text not null,
          ip text not null,
          at timestamptz not null default now()
        )`.execute(db);
      await sql`create index login_failure_email_at on login_failure (email, at)`.execute(db);
      await sql`create index login_failure_ip_at on login_failure (ip, at)`.execute(db);
    },
  },
  {
    id: 7,
    name: 'access workflow: applications, attachments, DRBs, reviews, votes, permits',
    async up(db) {
      await sql`
        create table application (
          id uuid primary key,
          applicant_id uuid not null references app_user(id),
          state text not null check (state in ('draft', 'submitted', 'under_review', 'returned', 'resubmitted', 'approved', 'rejected', 'closed')),
          content jsonb not null,
          cohort_hash text,
          round integer not null default 0,
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now(),
          submitted_at timestamptz,
          decided_at timestamptz
        )`.execute(db);
      await sql`create index application_applicant on application (applicant_id, updated_at desc)`.execute(
        db,
      );
      await sql`
        create table application_attachment (
          id uuid primary key,
          application_id uuid not null references application(id),
          kind text not null check (kind in ('irb_approval', 'data_management_plan', 'other')),
          file_name text not null,
          media_type text not null,
          size_bytes bigint not null,
          sha256 text not null,
          uploaded_by uuid not null references app_user(id),
          uploaded_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index application_attachment_app on application_attachment (application_id)`.execute(
        db,
      );
      await sql`
        create table drb (
          site_id text primary key references site(id),
          quorum integer not null check (quorum > 0),
          configured_by uuid references app_user(id),
          configured_at timestamptz not null default now()
        )`.execute(db);
      await sql`
        create table drb_member (
          site_id text not null references drb(site_id) on delete cascade,
          user_id uuid not null references app_user(id),
          external boolean not null,
          primary key (site_id, user_id)
        )`.execute(db);
      await sql`create index drb_member_user on drb_member (user_id)`.execute(db);
      await sql`
        create table review (
          id uuid primary key,
          application_id uuid not null references application(id),
          site_id text not null references site(id),
          round integer not null,
          joint_role text not null check (joint_role in ('own', 'lead', 'follower')),
          joint_choice text check (joint_choice in ('accepted', 'opted_out')),
          decision text not null default 'pending' check (decision in ('pending', 'approved', 'approved_with_conditions', 'rejected')),
          conditions jsonb not null default '[]',
          duo jsonb not null,
          created_at timestamptz not null default now(),
          decided_at timestamptz,
          unique (application_id, site_id, round)
        )`.execute(db);
      await sql`create index review_site on review (site_id, decision)`.execute(db);
      await sql`
        create table review_vote (
          review_id uuid not null references review(id),
          user_id uuid not null references app_user(id),
          vote text not null check (vote in ('approve', 'approve_with_conditions', 'reject')),
          comment text not null,
          conditions jsonb not null,
          cast_at timestamptz not null default now(),
          primary key (review_id, user_id)
        )`.execute(db);
      await sql`
        create table permit (
          id uuid primary key,
          application_id uuid not null references application(id),
          signed jsonb not null,
          sites jsonb not null,
          researchers jsonb not null,
          not_after timestamptz not null,
          issued_at timestamptz not null default now(),
          revoked_at timestamptz,
          revoked_by uuid references app_user(id),
          revoke_reason text
        )`.execute(db);
      await sql`create index permit_application on permit (application_id)`.execute(db);
      await sql`create index permit_revoked on permit (revoked_at) where revoked_at is not null`.execute(db);
    },
  },
  {
    id: 8,
    name: 'data needs and matches, notifications',
    async up(db) {
      await sql`
        create table data_need (
          id uuid primary key,
          poster_id uuid not null references app_user(id),
          state text not null check (state in ('open', 'matched', 'closed')),
          content jsonb not null,
          application_id uuid references application(id),
          created_at timestamptz not null default now(),
          updated_at timestamptz not null default now()
        )`.execute(db);
      await sql`create index data_need_poster on data_need (poster_id, created_at)`.execute(db);
      await sql`
        create table need_match (
          need_id uuid not null references data_need(id),
          dataset_id uuid not null,
          site_id text not null references site(id),
          score double precision not null,
          breakdown jsonb not null,
          primary key (need_id, dataset_id)
        )`.execute(db);
      await sql`create index need_match_site on need_match (site_id, need_id)`.execute(db);
      await sql`
        create table need_response (
          need_id uuid not null references data_need(id),
          site_id text not null references site(id),
          responder_id uuid not null references app_user(id),
          response text not null check (response in ('interested', 'not_interested', 'need_more_info')),
          message text not null,
          responded_at timestamptz not null default now(),
          primary key (need_id, site_id)
        )`.execute(db);
      await sql`
        create table notification (
          id uuid primary key,
          user_id uuid not null references app_user(id),
          kind text not null,
          title_ko text not null,
          title_en text not null,
          body text not null,
          link text,
          created_at timestamptz not null default now(),
          read_at timestamptz,
          email_status text not null check (email_status in ('none', 'pending', 'sent', 'failed')),
          email_attempts integer not null default 0,
          email_next_at timestamptz,
          email_error text
        )`.execute(db);
      await sql`create index notification_user on notification (user_id, read_at, created_at)`.execute(db);
      await sql`create index notification_email_due on notification (email_next_at) where email_status = 'pending'`.execute(
        db,
      );
    },
  },
  {
    id: 9,
    name: 'indexes for the access workflow under load',
    async up(db) {
      // A DRB inbox reads its site's newest reviews; review_site (site_id, decision) cannot give that order.
      await sql`create index review_site_created on review (site_id, created_at desc)`.execute(db);
      // Every application view, submission and vote reads the application's reviews of a round.
      await sql`create index review_application on review (application_id, round)`.execute(db);
      // Signing a user out everywhere (deactivation, password change) finds their sessions.
      await sql`create index session_of_user on session (user_id)`.execute(db);
    },
  },
  {
    id: 10,
    name: 'notification order',
    async up(db) {
      // Clocks can tie (PGlite's is coarse): the inbox breaks ties by the order of writing.
      await sql`alter table notification add column seq bigserial`.execute(db);
    },
  },
  {
    id: 11,
    name: 'audit outbox',
    async up(db) {
      // A committed transaction's audit events wait here until the chainer links them
      // (hub/audit): writers no longer take turns on the chain, one batch is chained at once.
      await sql`
        create table audit_pending (
          id bigserial primary key,
          events json not null
        )`.execute(db);
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
