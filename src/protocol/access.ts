/**
 * The access workflow's shared types: research applications, DRB configuration and
 * votes, and the hub-signed permit that sites verify. The hub, the site node, the web
 * app and the CLI all use these schemas; none keeps a copy.
 */

import { z } from 'zod';
import type { AuditEntry } from './audit-chain.ts';
import { canonicalJson } from './canonical-json.ts';
import { intendedUseSchema } from './duo.ts';
import { ANALYSIS_MODES, type AnalysisMode, signedPermitSchema } from './permit.ts';
import { sha256Hex } from './signing.ts';
import { siteIdSchema } from './wire.ts';

export * from './permit.ts';

/** REMS-like application states (GA4GH REMS: draft → submitted → … → closed). */
export const APPLICATION_STATES = [
  'draft',
  'submitted',
  'under_review',
  'returned',
  'resubmitted',
  'approved',
  'rejected',
  'closed',
] as const;
export type ApplicationState = (typeof APPLICATION_STATES)[number];

/** The site task types a permit for each analysis mode allows. */
export const TASKS_BY_ANALYSIS_MODE: Record<AnalysisMode, readonly string[]> = {
  federated_analysis: ['cohort_count'],
  federated_learning: ['cohort_count'],
  safe_zone_extract: ['cohort_count'],
};

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD');
const text = (max: number) => z.string().trim().max(max);

export const applicationMemberSchema = z.strictObject({
  /** A hub user id, when the member has an account. */
  userId: z.uuid().optional(),
  name: text(200).min(1),
  email: z.email().max(320).optional(),
  institution: text(200).optional(),
  role: z.enum(['pi', 'co_investigator', 'analyst', 'other']).default('analyst'),
});

export const irbApprovalSchema = z.strictObject({
  number: text(100).min(1),
  institution: text(200).min(1),
  approvedOn: isoDate,
  expiresOn: isoDate,
  /** The uploaded approval letter (an attachment of this application). */
  documentAttachmentId: z.uuid().optional(),
});

export const variableSelectionSchema = z.strictObject({
  /** OMOP CDM tables the analysis reads (e.g. measurement). */
  tables: z.array(text(64).min(1)).max(40).default([]),
  /** Named concept sets (OMOP concept ids). */
  conceptSets: z
    .array(z.strictObject({ name: text(200).min(1), conceptIds: z.array(z.number().int()).max(5000) }))
    .max(50)
    .default([]),
});

/** What an applicant writes. Every field is optional in a draft; submission checks completeness. */
export const applicationContentSchema = z.strictObject({
  title: text(300),
  purpose: text(10_000),
  researchQuestion: text(10_000),
  intendedUse: intendedUseSchema,
  members: z.array(applicationMemberSchema).max(50),
  datasetIds: z.array(text(200).min(1)).max(50),
  siteIds: z.array(siteIdSchema).max(50),
  /** The cohort as OHDSI Circe JSON (what ATLAS and the cohort builder export). */
  cohort: z.record(z.string(), z.unknown()),
  variables: variableSelectionSchema,
  /**
   * The applicant's own settled feasibility query whose counts the reviewers see; its
   * definition's hash must equal the cohort's. Null (or absent) links none.
   */
  feasibilityQueryId: z.uuid().nullable().optional(),
  period: z.strictObject({ start: isoDate, end: isoDate }),
  analysisMode: z.enum(ANALYSIS_MODES),
  irb: irbApprovalSchema,
  dataManagementPlan: text(20_000),
  /** Joint review: the lead site's DRB decides; the others accept it or opt out. */
  review: z.strictObject({
    mode: z.enum(['separate', 'joint']),
    leadSiteId: siteIdSchema.optional(),
  }),
});
export type ApplicationContent = z.infer<typeof applicationContentSchema>;

/** A draft, or a partial update to one (autosave sends what changed). */
export const applicationDraftSchema = applicationContentSchema.partial();
export type ApplicationDraft = z.infer<typeof applicationDraftSchema>;

/** SHA-256 of the cohort definition's canonical JSON: the permit and the site compare this. */
export function cohortHash(cohort: unknown): string {
  return sha256Hex(canonicalJson(cohort));
}

export const VOTES = ['approve', 'approve_with_conditions', 'reject'] as const;
export type Vote = (typeof VOTES)[number];

export const voteInputSchema = z.strictObject({
  vote: z.enum(VOTES),
  comment: text(10_000).default(''),
  /** With approve_with_conditions: the conditions, carried into the permit. */
  conditions: z.array(text(1000).min(1)).max(20).default([]),
});
export type VoteInput = z.infer<typeof voteInputSchema>;

export const drbConfigSchema = z.strictObject({
  members: z.array(z.strictObject({ userId: z.uuid(), external: z.boolean() })).max(100),
  /** Votes needed before a decision; default a majority of the members. */
  quorum: z.number().int().positive().optional(),
});
export type DrbConfig = z.infer<typeof drbConfigSchema>;

export const SITE_DECISIONS = ['pending', 'approved', 'approved_with_conditions', 'rejected'] as const;
export type SiteDecision = (typeof SITE_DECISIONS)[number];

// ——— what the hub answers (views); the web app reads these types ———

const duoStatusSchema = z.enum(['compatible', 'needs_review', 'conflict']);

/** The DUO check of one site's requested datasets against the intended use. */
export const siteDuoCheckSchema = z.object({
  status: duoStatusSchema,
  datasets: z.array(
    z.object({
      datasetId: z.string(),
      status: duoStatusSchema,
      findings: z.array(z.object({ term: z.string(), status: duoStatusSchema, message: z.string() })),
    }),
  ),
});
export type SiteDuoCheck = z.infer<typeof siteDuoCheckSchema>;

export const attachmentViewSchema = z.object({
  id: z.string(),
  kind: z.enum(['irb_approval', 'data_management_plan', 'other']),
  fileName: z.string(),
  mediaType: z.string(),
  size: z.number(),
  sha256: z.string(),
  uploadedAt: z.string(),
});
export type AttachmentView = z.infer<typeof attachmentViewSchema>;

export const reviewViewSchema = z.object({
  id: z.string(),
  applicationId: z.string(),
  siteId: z.string(),
  round: z.number(),
  jointRole: z.enum(['own', 'lead', 'follower']),
  jointChoice: z.enum(['accepted', 'opted_out']).nullable(),
  decision: z.enum(SITE_DECISIONS),
  conditions: z.array(z.string()),
  duo: siteDuoCheckSchema,
  quorum: z.number().nullable(),
  members: z.number().nullable(),
  /** Only for the site's own DRB members, stewards and admins. */
  votes: z
    .array(
      z.object({
        userId: z.string(),
        vote: z.enum(VOTES),
        comment: z.string(),
        conditions: z.array(z.string()),
        castAt: z.string(),
      }),
    )
    .optional(),
  decidedAt: z.string().nullable(),
});
export type ReviewView = z.infer<typeof reviewViewSchema>;

export const PERMIT_STATUSES = ['active', 'not_yet_valid', 'expired', 'revoked'] as const;
export type PermitStatus = (typeof PERMIT_STATUSES)[number];

export const permitViewSchema = z.object({
  id: z.string(),
  applicationId: z.string(),
  status: z.enum(PERMIT_STATUSES),
  permit: signedPermitSchema,
  issuedAt: z.string(),
  revokedAt: z.string().nullable(),
  revokeReason: z.string().nullable(),
});
export type PermitView = z.infer<typeof permitViewSchema>;

export const applicationSummarySchema = z.object({
  id: z.string(),
  title: z.string(),
  state: z.enum(APPLICATION_STATES),
  round: z.number(),
  applicantId: z.string(),
  siteIds: z.array(z.string()),
  updatedAt: z.string(),
});
export type ApplicationSummary = z.infer<typeof applicationSummarySchema>;

export const applicationViewSchema = applicationSummarySchema.extend({
  /** As saved: a draft may be partial. Not re-validated on the way out. */
  content: z.record(z.string(), z.unknown()),
  cohortHash: z.string().nullable(),
  createdAt: z.string(),
  submittedAt: z.string().nullable(),
  decidedAt: z.string().nullable(),
  attachments: z.array(attachmentViewSchema),
  /** Current round. The applicant and admins see every site's; a reviewer sees their sites' only. */
  reviews: z.array(reviewViewSchema),
  permits: z.array(permitViewSchema),
});
export type ApplicationView = Omit<z.infer<typeof applicationViewSchema>, 'content'> & {
  content: ApplicationDraft;
};

export const drbViewSchema = z.object({
  siteId: z.string(),
  quorum: z.number(),
  members: z.array(
    z.object({ userId: z.string(), name: z.string(), email: z.string(), external: z.boolean() }),
  ),
});
export type DrbView = z.infer<typeof drbViewSchema>;

/** One event in an application's history (from the audit log), as its readers see it. */
export interface HistoryEvent {
  seq: number;
  at: string;
  action: string;
  actorType: AuditEntry['actorType'];
  actorId: string | null;
  /** For state changes: the states before and after. */
  from?: string;
  to?: string;
  round?: number;
  /** Edited field names, or the uploaded file's kind, checksum and size. */
  fields?: string[];
  attachment?: { kind: string; sha256: string; size: number };
}
