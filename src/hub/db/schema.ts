/** Kysely table types of the hub database; migrations.ts creates them. */
import type { ColumnType, Generated, JSONColumnType } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** Filled by the database default on insert. */
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface MigrationTable {
  id: number;
  name: string;
  applied_at: CreatedAt;
}

export interface SiteTable {
  id: string;
  name: string;
  public_key: string;
  status: 'pending' | 'approved' | 'suspended';
  software: string;
  registered_at: CreatedAt;
  approved_at: Timestamp | null;
  last_seen_at: Timestamp | null;
}

export interface SiteNonceTable {
  site_id: string;
  nonce: string;
  seen_at: Timestamp;
}

export type TaskStatus = 'queued' | 'delivered' | 'done' | 'refused' | 'failed' | 'expired';

export interface TaskTable {
  id: string;
  site_id: string;
  type: string;
  permit_id: string | null;
  /** The signed task exactly as handed to the site. */
  signed: JSONColumnType<{ body: unknown; signature: string; keyId: string }>;
  status: TaskStatus;
  created_at: CreatedAt;
  expires_at: Timestamp;
  delivered_at: Timestamp | null;
  completed_at: Timestamp | null;
  result: ColumnType<unknown, string | null, string | null>;
  error: JSONColumnType<{ code: string; message: string }> | null;
}

export interface AppUserTable {
  id: string;
  email: string;
  name: string;
  /** Null for accounts that only sign in through OpenID Connect. */
  password_hash: string | null;
  roles: JSONColumnType<string[]>;
  created_at: CreatedAt;
  organisation_id: string | null;
  active: ColumnType<boolean, boolean | undefined, boolean>;
  oidc_subject: string | null;
}

export interface SessionTable {
  /** SHA-256 of the cookie token: a leaked table does not give working sessions. */
  token_hash: string;
  user_id: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  /** SHA-256 of the session's CSRF token (double-submit, bound to the session). */
  csrf_hash: string | null;
}

export type OrganisationKind = 'hospital' | 'company' | 'university' | 'operator';

export interface OrganisationTable {
  id: string;
  name_ko: string;
  name_en: string;
  kind: OrganisationKind;
  created_at: CreatedAt;
}

export interface UserSiteRoleTable {
  user_id: string;
  site_id: string;
  role: 'steward' | 'drb_member';
}

export interface ApiKeyTable {
  id: string;
  user_id: string;
  name: string;
  /** SHA-256 of the key's secret; the secret itself is shown once and never stored. */
  secret_hash: string;
  scopes: JSONColumnType<string[]>;
  created_at: CreatedAt;
  expires_at: Timestamp | null;
  revoked_at: Timestamp | null;
  last_used_at: Timestamp | null;
}

export interface LoginFailureTable {
  id: ColumnType<number, never, never>;
  email: string;
  ip: string;
  at: CreatedAt;
}

export interface SiteReportTable {
  id: ColumnType<number, never, never>;
  site_id: string;
  kind: 'quality' | 'profile';
  generated_at: Timestamp;
  received_at: CreatedAt;
  body: ColumnType<unknown, string, string>;
}

export interface AuditEntryTable {
  seq: number;
  at: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  details: ColumnType<Record<string, unknown>, string, string>;
  prev_hash: string;
  hash: string;
  signature: string;
}

/** One committed transaction's audit events, in order, waiting to be chained. */
export interface AuditPendingTable {
  id: Generated<number>;
  events: ColumnType<PendingAuditEvent[], string, string>;
}

export interface PendingAuditEvent {
  at: string;
  actorType: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

export type AccessRights = 'PUBLIC' | 'RESTRICTED' | 'NON_PUBLIC';

export interface DatasetTable {
  id: string;
  site_id: string;
  version: number;
  title_ko: string;
  title_en: string;
  access_rights: AccessRights;
  modalities: ColumnType<string[], string, string>;
  duo_codes: ColumnType<string[], string, string>;
  individuals: ColumnType<string | number | null, number | null, number | null>;
  body: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface DatasetVersionTable {
  dataset_id: string;
  version: number;
  body: ColumnType<unknown, string, string>;
  edited_by: string;
  edited_at: CreatedAt;
}

export interface DatasetGramTable {
  dataset_id: string;
  gram: string;
  weight: number;
}

export interface ConceptTable {
  concept_id: number;
  concept_name: string;
  domain_id: string;
  vocabulary_id: string;
  concept_class_id: string;
  standard_concept: string | null;
  concept_code: string;
  invalid_reason: string | null;
}

export interface ConceptSynonymTable {
  concept_id: number;
  concept_synonym_name: string;
  language_concept_id: number;
}

export interface ConceptGramTable {
  concept_id: number;
  gram: string;
}

/** A researcher's federated feasibility query (migration 5). */
export interface FeasibilityQueryTable {
  id: string;
  user_id: string;
  name: string | null;
  /** The Circe cohort expression as submitted. */
  definition: JSONColumnType<Record<string, unknown>>;
  /** SHA-256 of the definition's canonical JSON: "same definition" for differencing. */
  definition_hash: string;
  inclusion_rules: JSONColumnType<string[]>;
  timeout_seconds: number;
  status: 'running' | 'complete' | 'refused';
  refusal: string | null;
  created_at: CreatedAt;
  deadline: Timestamp;
  completed_at: Timestamp | null;
}

/** One site asked by a feasibility query; the answer is frozen here when the query settles. */
export interface FeasibilitySiteTable {
  query_id: string;
  site_id: string;
  task_id: string | null;
  /** Why the task could not be sent, if it could not. */
  send_error: JSONColumnType<{ code: string; message: string }> | null;
  /** Filled when the query settles: answered / refused / failed / not_answering. */
  status: string | null;
  answer: ColumnType<unknown, string | null, string | null>;
  error: JSONColumnType<{ code: string; message: string }> | null;
  answered_at: Timestamp | null;
}

export interface ApplicationTable {
  id: string;
  applicant_id: string;
  state:
    | 'draft'
    | 'submitted'
    | 'under_review'
    | 'returned'
    | 'resubmitted'
    | 'approved'
    | 'rejected'
    | 'closed';
  content: ColumnType<Record<string, unknown>, string, string>;
  /** SHA-256 of the cohort's canonical JSON, set when the cohort is. */
  cohort_hash: string | null;
  /** Review round: 1 at submission, +1 at each resubmission. */
  round: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
  updated_at: CreatedAt;
  submitted_at: Timestamp | null;
  decided_at: Timestamp | null;
}

export interface ApplicationAttachmentTable {
  id: string;
  application_id: string;
  kind: 'irb_approval' | 'data_management_plan' | 'other';
  file_name: string;
  media_type: string;
  size_bytes: ColumnType<number, number, number>;
  sha256: string;
  uploaded_by: string;
  uploaded_at: CreatedAt;
}

export interface DrbTable {
  site_id: string;
  quorum: number;
  configured_by: string | null;
  configured_at: CreatedAt;
}

export interface DrbMemberTable {
  site_id: string;
  user_id: string;
  external: boolean;
}

export interface ReviewTable {
  id: string;
  application_id: string;
  site_id: string;
  round: number;
  joint_role: 'own' | 'lead' | 'follower';
  joint_choice: 'accepted' | 'opted_out' | null;
  decision: 'pending' | 'approved' | 'approved_with_conditions' | 'rejected';
  conditions: ColumnType<string[], string | undefined, string>;
  duo: ColumnType<unknown, string, string>;
  created_at: CreatedAt;
  decided_at: Timestamp | null;
}

export interface ReviewVoteTable {
  review_id: string;
  user_id: string;
  vote: 'approve' | 'approve_with_conditions' | 'reject';
  comment: string;
  conditions: ColumnType<string[], string, string>;
  cast_at: CreatedAt;
}

export interface PermitTable {
  id: string;
  application_id: string;
  /** The signed permit exactly as sites receive it. */
  signed: ColumnType<{ body: unknown; signature: string; keyId: string }, string, string>;
  sites: ColumnType<string[], string, string>;
  researchers: ColumnType<string[], string, string>;
  not_after: Timestamp;
  issued_at: CreatedAt;
  revoked_at: Timestamp | null;
  revoked_by: string | null;
  revoke_reason: string | null;
}

/** A data need a company or researcher posts for matching (migration 8). */
export interface DataNeedTable {
  id: string;
  poster_id: string;
  state: 'open' | 'matched' | 'closed';
  content: ColumnType<Record<string, unknown>, string, string>;
  application_id: string | null;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

/** A catalog dataset ranked for a need, with the per-criterion breakdown of its score. */
export interface NeedMatchTable {
  need_id: string;
  dataset_id: string;
  site_id: string;
  score: number;
  breakdown: ColumnType<Record<string, unknown>, string, string>;
}

/** A site steward's answer to a need matched to the site (the latest one per site). */
export interface NeedResponseTable {
  need_id: string;
  site_id: string;
  responder_id: string;
  response: 'interested' | 'not_interested' | 'need_more_info';
  message: string;
  responded_at: CreatedAt;
}

/** One in-app notification; e-mail delivery state rides along (an outbox). */
export interface NotificationTable {
  id: string;
  user_id: string;
  kind: string;
  title_ko: string;
  title_en: string;
  body: string;
  link: string | null;
  created_at: CreatedAt;
  read_at: Timestamp | null;
  email_status: 'none' | 'pending' | 'sent' | 'failed';
  email_attempts: ColumnType<number, number | undefined, number>;
  email_next_at: Timestamp | null;
  email_error: string | null;
  /** Order of writing: breaks ties between equal `created_at`. */
  seq: ColumnType<number, never, never>;
}

export interface HubDatabase {
  itda_migration: MigrationTable;
  site: SiteTable;
  site_nonce: SiteNonceTable;
  task: TaskTable;
  app_user: AppUserTable;
  session: SessionTable;
  organisation: OrganisationTable;
  user_site_role: UserSiteRoleTable;
  api_key: ApiKeyTable;
  login_failure: LoginFailureTable;
  site_report: SiteReportTable;
  audit_entry: AuditEntryTable;
  audit_pending: AuditPendingTable;
  dataset: DatasetTable;
  dataset_version: DatasetVersionTable;
  dataset_gram: DatasetGramTable;
  concept: ConceptTable;
  concept_synonym: ConceptSynonymTable;
  concept_gram: ConceptGramTable;
  feasibility_query: FeasibilityQueryTable;
  feasibility_site: FeasibilitySiteTable;
  application: ApplicationTable;
  application_attachment: ApplicationAttachmentTable;
  drb: DrbTable;
  drb_member: DrbMemberTable;
  review: ReviewTable;
  review_vote: ReviewVoteTable;
  permit: PermitTable;
  data_need: DataNeedTable;
  need_match: NeedMatchTable;
  need_response: NeedResponseTable;
  notification: NotificationTable;
}
