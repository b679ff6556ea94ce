/**
 * The access workflow's rules: research applications through their life cycle
 * (state-machine.ts), attachments, per-site DRBs and their votes (decision.ts), DUO
 * checks (protocol/duo.ts), and the hub-signed permits that let analyses run. Every
 * change is written to the audit log in the same transaction as the change itself.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { parseCohortExpression } from '../../cohort/expression.ts';
import {
  type ApplicationContent,
  type ApplicationDraft,
  type ApplicationState,
  type ApplicationSummary,
  type ApplicationView,
  type AttachmentView,
  applicationContentSchema,
  applicationDraftSchema,
  cohortHash,
  type DrbConfig,
  type DrbView,
  type PermitBody,
  type PermitStatus,
  type PermitView,
  type ReviewView,
  type SignedPermit,
  type SiteDecision,
  type SiteDuoCheck,
  TASKS_BY_ANALYSIS_MODE,
  type VoteInput,
} from '../../protocol/access.ts';
import { checkDuoCompatibility, worstDuoStatus } from '../../protocol/duo.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { FeasibilityQueryView } from '../../protocol/feasibility.ts';
import { signValue } from '../../protocol/signing.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { feasibilityQueryFacts, readFeasibilityQuery } from '../feasibility/service.ts';
import { enqueueTask, type TaskView } from '../jobs/service.ts';
import { notifyApplicationChange, notifyPermit } from '../notifications/events.ts';
import { findSite, findSites } from '../sites/store.ts';
import {
  checkUpload,
  MAX_ATTACHMENT_BYTES,
  readAttachmentBytes,
  storeAttachmentBytes,
} from './attachments.ts';
import { applicationOutcome, checkDrbComposition, decideSite } from './decision.ts';
import { type ApplicationAction, type TransitionActor, transition } from './state-machine.ts';
import {
  type ApplicationRow,
  type AttachmentRow,
  drbSitesOf,
  drbSizes,
  existingUserIds,
  findApplication,
  findAttachment,
  findDrb,
  findPermit,
  findReview,
  insertApplication,
  insertAttachment,
  insertPermit,
  insertReviews,
  insertVote,
  listApplications,
  listAttachments,
  type PermitRow,
  permitsOf,
  type ReviewRow,
  replaceDrb,
  reviewsForSite,
  reviewsOf,
  revokedPermitIds,
  revokePermitRow,
  updateApplication,
  updateReview,
  votesOf,
} from './store.ts';

/** The parts of a signed-in user the access rules look at. */
export interface AccessUser {
  id: string;
  roles: readonly string[];
  /** Per-site roles (steward, drb_member) from the accounts module, when it provides them. */
  siteRoles?: readonly { siteId: string; role: string }[];
  /** The sites on whose DRB the user sits, when the session lookup loaded them with the user. */
  drbSiteIds?: readonly string[];
}

type Db = Kysely<HubDatabase>;

const isAdmin = (user: AccessUser) => user.roles.includes('admin');
const stewardSites = (user: AccessUser) =>
  (user.siteRoles ?? []).filter((r) => r.role === 'steward').map((r) => r.siteId);
/** DRB seats as of this request; a decision inside a transaction re-reads them there. */
const drbSitesFor = async (db: Db, user: AccessUser): Promise<readonly string[]> =>
  user.drbSiteIds ?? drbSitesOf(db, user.id);
const actorOf = (user: AccessUser) => ({ actorType: 'user' as const, actorId: user.id });

function draftOf(row: ApplicationRow): ApplicationDraft {
  return row.content as ApplicationDraft;
}

function requestedSites(row: ApplicationRow): string[] {
  return draftOf(row).siteIds ?? [];
}

/** Who the user is to this application: applicant, listed member, reviewer of some of its sites, admin. */
interface Relation {
  applicant: boolean;
  member: boolean;
  admin: boolean;
  /** Requested sites whose DRB the user sits on. */
  drbSites: string[];
  /** Requested sites the user stewards. */
  stewardSites: string[];
}

/** `trx`: a transaction about to act on the relation, in which the DRB seats are re-read. */
async function relationTo(
  ctx: HubContext,
  user: AccessUser,
  row: ApplicationRow,
  trx?: Db,
): Promise<Relation> {
  const sites = requestedSites(row);
  const submitted = row.round > 0;
  const seats = submitted ? await (trx ? drbSitesOf(trx, user.id) : drbSitesFor(ctx.db, user)) : [];
  const drb = seats.filter((s) => sites.includes(s));
  return {
    applicant: row.applicant_id === user.id,
    member: (draftOf(row).members ?? []).some((m) => m.userId === user.id),
    admin: isAdmin(user),
    drbSites: drb,
    stewardSites: submitted ? stewardSites(user).filter((s) => sites.includes(s)) : [],
  };
}

function canRead(rel: Relation): boolean {
  return rel.applicant || rel.member || rel.admin || rel.drbSites.length > 0 || rel.stewardSites.length > 0;
}

async function loadReadable(
  ctx: HubContext,
  user: AccessUser,
  id: string,
): Promise<{ row: ApplicationRow; rel: Relation }> {
  const row = await findApplication(ctx.db, id);
  // Someone who may not read an application learns nothing about whether it exists.
  if (!row) throw new ItdaError('not_found', `no application ${id}`);
  const rel = await relationTo(ctx, user, row);
  if (!canRead(rel)) throw new ItdaError('not_found', `no application ${id}`);
  return { row, rel };
}

async function changeState(
  ctx: HubContext,
  trx: Db,
  row: ApplicationRow,
  action: ApplicationAction,
  actor: TransitionActor,
  who: { actorType: 'user' | 'system'; actorId: string | null },
  extra: { details?: Record<string, unknown>; round?: number; submittedAt?: Date; decidedAt?: Date } = {},
): Promise<ApplicationRow> {
  const to = transition(row.state, action, actor);
  const updated = await updateApplication(trx, row.id, {
    state: to,
    ...(extra.round !== undefined ? { round: extra.round } : {}),
    ...(extra.submittedAt ? { submittedAt: extra.submittedAt } : {}),
    ...(extra.decidedAt ? { decidedAt: extra.decidedAt } : {}),
  });
  await audit(
    ctx,
    {
      ...who,
      action: `application.${action}`,
      targetType: 'application',
      targetId: row.id,
      details: { from: row.state, to, round: updated.round, ...extra.details },
    },
    trx,
  );
  const comment = extra.details?.comment;
  await notifyApplicationChange(
    ctx,
    trx,
    {
      id: updated.id,
      applicantId: updated.applicant_id,
      title: draftOf(updated).title ?? '',
      siteIds: requestedSites(updated),
    },
    action,
    typeof comment === 'string' ? comment : undefined,
  );
  return updated;
}

// ——— applications ———

export async function createApplication(
  ctx: HubContext,
  user: AccessUser,
  input: ApplicationDraft,
): Promise<ApplicationView> {
  const parsed = applicationDraftSchema.parse(input);
  await settleLinkedQuery(ctx, parsed.feasibilityQueryId);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const draft = await checkFeasibilityLink(trx, user.id, parsed);
    const created = await insertApplication(trx, {
      id: randomUUID(),
      applicantId: user.id,
      content: draft,
      cohortHash: draft.cohort ? cohortHash(draft.cohort) : null,
    });
    await audit(
      ctx,
      { ...actorOf(user), action: 'application.create', targetType: 'application', targetId: created.id },
      trx,
    );
    return created;
  });
  return viewApplication(ctx, user, row);
}

/** Autosave: merges the given top-level fields into a draft (or a returned application). */
export async function updateDraft(
  ctx: HubContext,
  user: AccessUser,
  id: string,
  patch: ApplicationDraft,
): Promise<ApplicationView> {
  const changes = applicationDraftSchema.parse(patch);
  await settleLinkedQuery(ctx, changes.feasibilityQueryId);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const { current } = await lockFor(
      ctx,
      trx,
      user,
      id,
      isApplicant,
      'only the applicant edits an application',
    );
    if (current.state !== 'draft' && current.state !== 'returned')
      throw new ItdaError('conflict', `an application that is ${current.state} cannot be edited`, {
        state: current.state,
      });
    const merged = { ...draftOf(current), ...changes };
    const content = await checkFeasibilityLink(trx, current.applicant_id, merged);
    const fields = Object.keys(changes);
    // The cohort taken from the linked query is an edit of the cohort too.
    if (content.cohort !== merged.cohort) fields.push('cohort');
    const updated = await updateApplication(trx, id, {
      content,
      cohortHash: content.cohort ? cohortHash(content.cohort) : null,
    });
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'application.edit',
        targetType: 'application',
        targetId: id,
        details: { fields: [...new Set(fields)].sort() },
      },
      trx,
    );
    return updated;
  });
  return viewApplication(ctx, user, row);
}

/** Refuses a link naming the field, so autosave holds the link back and saves the rest. */
function refuseLink(message: string): never {
  throw new ItdaError('validation_failed', `feasibilityQueryId: ${message}`, {
    issues: [{ where: 'body/feasibilityQueryId', message }],
  });
}

const hasCohort = (draft: ApplicationDraft) => !!draft.cohort && Object.keys(draft.cohort).length > 0;

/** A query whose time ran out settles when someone looks; look before the checks' transaction does. */
async function settleLinkedQuery(ctx: HubContext, queryId: string | null | undefined): Promise<void> {
  if (queryId) await readFeasibilityQuery(ctx, queryId);
}

/**
 * The linked feasibility query (README "Feasibility counts"): the applicant's own, settled
 * and not refused by the differencing defence, its definition's SHA-256 the cohort's. An
 * application without a cohort yet takes the query's definition as its cohort.
 */
async function checkFeasibilityLink<D extends ApplicationDraft>(
  db: Db,
  applicantId: string,
  draft: D,
): Promise<D> {
  const queryId = draft.feasibilityQueryId;
  if (!queryId) return draft;
  const query = await feasibilityQueryFacts(db, queryId);
  // Another user's query is as unknown here as on the feasibility routes.
  if (query?.ownerId !== applicantId) refuseLink(`the applicant has no feasibility query ${queryId}`);
  if (query.status === 'running')
    refuseLink(`feasibility query ${queryId} is still running; link it once it has settled`);
  if (query.status === 'refused')
    refuseLink(`feasibility query ${queryId} was refused (differencing) and has no counts to show`);
  if (!hasCohort(draft)) return { ...draft, cohort: query.definition };
  const hash = cohortHash(draft.cohort);
  if (hash !== query.definitionHash)
    refuseLink(
      `the cohort (SHA-256 ${hash}) is not feasibility query ${queryId}'s definition (${query.definitionHash}); link a query of this cohort, or clear the cohort to take the query's`,
    );
  return draft;
}

/**
 * The linked feasibility query's per-site counts and attrition, exactly as the sites
 * disclosed them to the applicant, for whoever may read the application (its reviewers
 * once submitted). Nothing is computed anew.
 */
export async function getApplicationFeasibility(
  ctx: HubContext,
  user: AccessUser,
  id: string,
): Promise<FeasibilityQueryView> {
  const { row } = await loadReadable(ctx, user, id);
  const queryId = draftOf(row).feasibilityQueryId;
  const query = queryId ? await readFeasibilityQuery(ctx, queryId) : undefined;
  if (!query || query.ownerId !== row.applicant_id)
    throw new ItdaError('not_found', `application ${id} links no feasibility query`);
  return query.view;
}

/** Completeness rules beyond the schema, checked at submission. */
async function checkSubmittable(row: ApplicationRow, trx: Db): Promise<ApplicationContent> {
  const parsed = applicationContentSchema.safeParse(row.content);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(content)'}: ${i.message}`);
    throw new ItdaError(
      'validation_failed',
      `the application is incomplete: ${issues.slice(0, 5).join('; ')}`,
      { issues },
    );
  }
  const content = parsed.data;
  const fail = (message: string) => {
    throw new ItdaError('validation_failed', message);
  };
  if (content.title.length === 0) fail('title: required');
  if (content.purpose.length === 0) fail('purpose: required');
  if (content.siteIds.length === 0) fail('siteIds: name at least one site');
  if (new Set(content.siteIds).size !== content.siteIds.length) fail('siteIds: a site is named twice');
  if (content.period.end <= content.period.start) fail('period: the end must come after the start');
  const today = new Date().toISOString().slice(0, 10);
  if (content.irb.expiresOn < today)
    fail(`irb.expiresOn: the IRB approval expired on ${content.irb.expiresOn}`);
  if (content.irb.expiresOn < content.irb.approvedOn) fail('irb: expires before it was approved');
  if (!content.irb.documentAttachmentId) fail('irb.documentAttachmentId: upload the IRB approval document');
  const document = await findAttachment(trx, row.id, content.irb.documentAttachmentId!);
  if (document?.kind !== 'irb_approval')
    fail('irb.documentAttachmentId: not an IRB approval uploaded to this application');
  if (Object.keys(content.cohort).length === 0)
    fail('cohort: the cohort definition (Circe JSON) is required');
  try {
    parseCohortExpression(content.cohort);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    fail(`cohort: not a cohort definition this platform can run: ${message}`);
  }
  await checkFeasibilityLink(trx, row.applicant_id, content);
  if (content.review.mode === 'joint') {
    if (content.siteIds.length < 2) fail('review: joint review needs at least two sites');
    if (!content.review.leadSiteId || !content.siteIds.includes(content.review.leadSiteId))
      fail('review.leadSiteId: the lead DRB must be one of the requested sites');
  }
  const sites = new Map((await findSites(trx, content.siteIds)).map((site) => [site.id, site]));
  const drbs = await drbSizes(trx, content.siteIds);
  for (const siteId of content.siteIds) {
    if (sites.get(siteId)?.status !== 'approved') fail(`siteIds: ${siteId} is not an approved site`);
    if (!drbs.has(siteId)) fail(`siteIds: ${siteId} has no DRB configured yet`);
  }
  return content;
}

interface CatalogUse {
  id: string;
  siteId: string;
  terms: string[];
  diseaseConceptIds: number[];
}

/** Allowed uses of the named datasets from the catalog (hub/catalog); datasets it does not know are left out. */
async function catalogUses(db: Db, datasetIds: readonly string[]): Promise<Map<string, CatalogUse>> {
  const uses = new Map<string, CatalogUse>();
  // Catalog ids are UUIDs; anything else cannot be in it (and must not reach a uuid column).
  const ids = datasetIds.filter((id) =>
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id),
  );
  if (ids.length === 0) return uses;
  const rows = await db
    .selectFrom('dataset')
    .select(['id', 'site_id', 'body'])
    .where('id', 'in', ids)
    .execute();
  for (const row of rows) {
    const body = (typeof row.body === 'string' ? JSON.parse(row.body) : row.body) as {
      allowedUses?: { code: string; disease?: string }[];
    };
    const allowed = body?.allowedUses ?? [];
    uses.set(row.id, {
      id: row.id,
      siteId: row.site_id,
      terms: allowed.map((u) => u.code),
      diseaseConceptIds: allowed.flatMap((u) => {
        const match = /^OMOP:(\d+)$/i.exec(u.disease ?? '');
        return match ? [Number(match[1])] : [];
      }),
    });
  }
  return uses;
}

/** DUO verdicts of each requested site's datasets against the intended use. */
function duoBySite(content: ApplicationContent, uses: Map<string, CatalogUse>): Map<string, SiteDuoCheck> {
  const bySite = new Map<string, SiteDuoCheck>();
  for (const siteId of content.siteIds) bySite.set(siteId, { status: 'needs_review', datasets: [] });
  const unknown: string[] = [];
  for (const datasetId of content.datasetIds) {
    const use = uses.get(datasetId);
    if (!use) {
      unknown.push(datasetId);
      continue;
    }
    const check = bySite.get(use.siteId);
    if (!check) continue;
    const verdict = checkDuoCompatibility(
      { terms: use.terms, diseaseConceptIds: use.diseaseConceptIds },
      content.intendedUse,
      { hasIrbApproval: true },
    );
    check.datasets.push({ datasetId, ...verdict });
  }
  for (const check of bySite.values()) {
    check.status =
      check.datasets.length === 0 ? 'needs_review' : worstDuoStatus(check.datasets.map((d) => d.status));
    for (const datasetId of unknown)
      check.datasets.push({
        datasetId,
        status: 'needs_review',
        findings: [
          { term: 'unknown', status: 'needs_review', message: `dataset ${datasetId} is not in the catalog` },
        ],
      });
  }
  return bySite;
}

async function openReviews(trx: Db, content: ApplicationContent, applicationId: string, round: number) {
  const duo = duoBySite(content, await catalogUses(trx, content.datasetIds));
  await insertReviews(
    trx,
    content.siteIds.map((siteId) => ({
      id: randomUUID(),
      applicationId,
      siteId,
      round,
      jointRole:
        content.review.mode === 'joint'
          ? siteId === content.review.leadSiteId
            ? 'lead'
            : 'follower'
          : 'own',
      duo: duo.get(siteId),
    })),
  );
}

/** Submission and resubmission: completeness checked, then a review round for every requested site. */
async function openRound(
  ctx: HubContext,
  user: AccessUser,
  id: string,
  action: 'submit' | 'resubmit',
): Promise<ApplicationView> {
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await mustOwn(ctx, trx, user, id);
    transition(current.state, action, 'applicant');
    const content = await checkSubmittable(current, trx);
    // Each round has its own reviews, so every member votes again after a resubmission.
    const round = current.round + 1;
    await openReviews(trx, content, id, round);
    return changeState(ctx, trx, current, action, 'applicant', actorOf(user), {
      round,
      ...(action === 'submit' ? { submittedAt: new Date() } : {}),
      details: { sites: content.siteIds, reviewMode: content.review.mode },
    });
  });
  return viewApplication(ctx, user, row);
}

export function submitApplication(ctx: HubContext, user: AccessUser, id: string): Promise<ApplicationView> {
  return openRound(ctx, user, id, 'submit');
}

export function resubmitApplication(ctx: HubContext, user: AccessUser, id: string): Promise<ApplicationView> {
  return openRound(ctx, user, id, 'resubmit');
}

/** A DRB member of a requested site sends the application back for changes. */
export async function returnApplication(
  ctx: HubContext,
  user: AccessUser,
  id: string,
  comment: string,
): Promise<ApplicationView> {
  const row = await ctx.db.transaction().execute(async (trx) => {
    const { current, rel } = await lockFor(
      ctx,
      trx,
      user,
      id,
      (r) => r.drbSites.length > 0,
      "only a member of a requested site's DRB returns an application",
    );
    return changeState(ctx, trx, current, 'return', 'drb_member', actorOf(user), {
      details: { comment, sites: rel.drbSites },
    });
  });
  return viewApplication(ctx, user, row);
}

export async function closeApplication(
  ctx: HubContext,
  user: AccessUser,
  id: string,
): Promise<ApplicationView> {
  const row = await ctx.db.transaction().execute(async (trx) => {
    const { current, rel } = await lockFor(
      ctx,
      trx,
      user,
      id,
      (r) => r.applicant || r.admin,
      'only the applicant or an admin closes an application',
    );
    const action: ApplicationAction =
      current.state === 'draft' || current.state === 'returned' ? 'withdraw' : 'close';
    return changeState(ctx, trx, current, action, rel.applicant ? 'applicant' : 'admin', actorOf(user));
  });
  return viewApplication(ctx, user, row);
}

/**
 * Locks the application for a change by someone `allowed`; those who may read it but not
 * change it are told so, everyone else learns nothing about whether it exists.
 */
async function lockFor(
  ctx: HubContext,
  trx: Db,
  user: AccessUser,
  id: string,
  allowed: (rel: Relation) => boolean,
  refusal: string,
): Promise<{ current: ApplicationRow; rel: Relation }> {
  const current = await findApplication(trx, id, true);
  if (!current) throw new ItdaError('not_found', `no application ${id}`);
  const rel = await relationTo(ctx, user, current, trx);
  if (!allowed(rel)) {
    if (!canRead(rel)) throw new ItdaError('not_found', `no application ${id}`);
    throw new ItdaError('forbidden', refusal);
  }
  return { current, rel };
}

const isApplicant = (rel: Relation) => rel.applicant;

async function mustOwn(ctx: HubContext, trx: Db, user: AccessUser, id: string): Promise<ApplicationRow> {
  return (await lockFor(ctx, trx, user, id, isApplicant, 'only the applicant submits an application'))
    .current;
}

export async function getApplication(
  ctx: HubContext,
  user: AccessUser,
  id: string,
): Promise<ApplicationView> {
  const { row } = await loadReadable(ctx, user, id);
  return viewApplication(ctx, user, row);
}

export async function listApplicationsFor(ctx: HubContext, user: AccessUser): Promise<ApplicationSummary[]> {
  const rows = await listApplications(ctx.db, {
    all: isAdmin(user),
    applicantId: user.id,
    reviewSiteIds: [...new Set([...(await drbSitesFor(ctx.db, user)), ...stewardSites(user)])],
    limit: 500,
  });
  return rows.map(summarise);
}

// ——— attachments ———

export async function uploadAttachment(
  ctx: HubContext,
  user: AccessUser,
  id: string,
  upload: { kind: AttachmentRow['kind']; fileName: string; contentType: string; bytes: Uint8Array },
): Promise<AttachmentView> {
  const current = await findApplication(ctx.db, id);
  if (!current || current.applicant_id !== user.id) {
    if (current && canRead(await relationTo(ctx, user, current)))
      throw new ItdaError('forbidden', 'only the applicant uploads attachments');
    throw new ItdaError('not_found', `no application ${id}`);
  }
  if (current.state !== 'draft' && current.state !== 'returned')
    throw new ItdaError(
      'conflict',
      `attachments are added while an application is a draft or returned, not ${current.state}`,
    );
  const fileName = upload.fileName.trim();
  if (fileName.length === 0 || fileName.length > 255 || /[/\\\0]/.test(fileName))
    throw new ItdaError('validation_failed', 'name: a file name of 1–255 characters without slashes');
  const { mediaType, sha256 } = checkUpload(upload.bytes, upload.contentType);
  await storeAttachmentBytes(ctx.config.dataDir, sha256, upload.bytes);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertAttachment(trx, {
      id: randomUUID(),
      application_id: id,
      kind: upload.kind,
      file_name: fileName,
      media_type: mediaType,
      size_bytes: upload.bytes.length,
      sha256,
      uploaded_by: user.id,
    });
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'attachment.upload',
        targetType: 'application',
        targetId: id,
        details: {
          attachmentId: inserted.id,
          kind: upload.kind,
          sha256,
          size: upload.bytes.length,
          mediaType,
        },
      },
      trx,
    );
    return inserted;
  });
  return viewAttachment(row);
}

export async function downloadAttachment(
  ctx: HubContext,
  user: AccessUser,
  id: string,
  attachmentId: string,
): Promise<{ attachment: AttachmentView; bytes: Buffer }> {
  await loadReadable(ctx, user, id);
  const row = await findAttachment(ctx.db, id, attachmentId);
  if (!row) throw new ItdaError('not_found', `no attachment ${attachmentId} on application ${id}`);
  const bytes = await readAttachmentBytes(ctx.config.dataDir, row.sha256);
  await audit(ctx, {
    ...actorOf(user),
    action: 'attachment.download',
    targetType: 'application',
    targetId: id,
    details: { attachmentId, sha256: row.sha256 },
  });
  return { attachment: viewAttachment(row), bytes };
}

export { MAX_ATTACHMENT_BYTES };

// ——— DRBs ———

/** Configures a site's DRB (admin, or a steward of the site); the Korean composition rule applies. */
export async function configureDrb(
  ctx: HubContext,
  user: AccessUser,
  siteId: string,
  config: DrbConfig,
): Promise<DrbView> {
  if (!isAdmin(user) && !stewardSites(user).includes(siteId))
    throw new ItdaError('forbidden', `only an admin or a steward of ${siteId} configures its DRB`);
  const site = await findSite(ctx.db, siteId);
  if (!site) throw new ItdaError('not_found', `no site ${siteId}`);
  const quorum = checkDrbComposition(config.members, config.quorum);
  const known = new Set(
    (
      await existingUserIds(
        ctx.db,
        config.members.map((m) => m.userId),
      )
    ).map((r) => r.id),
  );
  const missing = config.members.filter((m) => !known.has(m.userId)).map((m) => m.userId);
  if (missing.length > 0) throw new ItdaError('validation_failed', `members: no user ${missing.join(', ')}`);
  await ctx.db.transaction().execute(async (trx) => {
    await replaceDrb(trx, { siteId, quorum, members: config.members }, user.id);
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'drb.configure',
        targetType: 'site',
        targetId: siteId,
        details: {
          members: config.members.length,
          external: config.members.filter((m) => m.external).length,
          quorum,
        },
      },
      trx,
    );
  });
  return getDrb(ctx, siteId);
}

export async function getDrb(ctx: HubContext, siteId: string): Promise<DrbView> {
  const drb = await findDrb(ctx.db, siteId);
  if (!drb) throw new ItdaError('not_found', `site ${siteId} has no DRB configured`);
  return drb;
}

// ——— reviews and votes ———

async function mayReadSite(
  ctx: HubContext,
  user: AccessUser,
  siteId: string,
): Promise<'drb' | 'steward' | 'admin' | undefined> {
  if ((await drbSitesFor(ctx.db, user)).includes(siteId)) return 'drb';
  if (stewardSites(user).includes(siteId)) return 'steward';
  if (isAdmin(user)) return 'admin';
  return undefined;
}

/** A site's review inbox, the newest `limit` first: DRB members, stewards of the site and admins only. */
export async function listSiteReviews(
  ctx: HubContext,
  user: AccessUser,
  siteId: string,
  limit = 100,
): Promise<ReviewView[]> {
  if (!(await mayReadSite(ctx, user, siteId)))
    throw new ItdaError('forbidden', `only ${siteId}'s DRB members and stewards read its reviews`);
  const rows = await reviewsForSite(ctx.db, siteId, limit);
  return viewReviews(ctx, rows, () => true);
}

export async function getReview(
  ctx: HubContext,
  user: AccessUser,
  reviewId: string,
): Promise<ReviewView & { application: ApplicationView }> {
  const review = await findReview(ctx.db, reviewId);
  if (!review) throw new ItdaError('not_found', `no review ${reviewId}`);
  if (!(await mayReadSite(ctx, user, review.site_id)))
    throw new ItdaError('forbidden', `only ${review.site_id}'s DRB members and stewards read its reviews`);
  const application = await findApplication(ctx.db, review.application_id);
  const [view] = await viewReviews(ctx, [review], () => true);
  return {
    ...view!,
    application: await viewApplication(ctx, user, application!, { asReviewerOf: review.site_id }),
  };
}

/** Reviews of the current round, re-decided from their votes; carries decisions into the application. */
async function settle(ctx: HubContext, trx: Db, application: ApplicationRow): Promise<ApplicationRow> {
  const reviews = await reviewsOf(trx, application.id, application.round);
  const votes = await votesOf(
    trx,
    reviews.map((r) => r.id),
  );
  const drbs = await drbSizes(
    trx,
    reviews.map((r) => r.site_id),
  );
  const decisions = new Map<string, SiteDecision>();
  const conditions = new Map<string, string[]>();
  for (const review of reviews) {
    if (review.joint_role === 'follower' && review.joint_choice !== 'opted_out') continue;
    const drb = drbs.get(review.site_id);
    const result = decideSite(
      votes.filter((v) => v.review_id === review.id),
      { memberCount: drb?.members ?? 0, quorum: drb?.quorum ?? Number.POSITIVE_INFINITY },
    );
    decisions.set(review.site_id, result.decision);
    conditions.set(review.site_id, result.conditions);
  }
  const lead = reviews.find((r) => r.joint_role === 'lead');
  for (const review of reviews) {
    if (review.joint_role !== 'follower' || review.joint_choice === 'opted_out') continue;
    // A follower that accepted the joint review takes the lead DRB's decision.
    const decision =
      review.joint_choice === 'accepted' && lead ? (decisions.get(lead.site_id) ?? 'pending') : 'pending';
    decisions.set(review.site_id, decision);
    conditions.set(
      review.site_id,
      decision === 'approved_with_conditions' && lead ? (conditions.get(lead.site_id) ?? []) : [],
    );
  }
  for (const review of reviews) {
    const decision = decisions.get(review.site_id) ?? 'pending';
    if (decision !== review.decision) {
      await updateReview(trx, review.id, { decision, conditions: conditions.get(review.site_id) ?? [] });
      await audit(
        ctx,
        {
          actorType: 'system',
          actorId: null,
          action: 'review.decide',
          targetType: 'review',
          targetId: review.id,
          details: { applicationId: application.id, siteId: review.site_id, round: review.round, decision },
        },
        trx,
      );
    }
  }
  const outcome = applicationOutcome(reviews.map((r) => decisions.get(r.site_id) ?? 'pending'));
  if (outcome === 'pending') return application;
  const system = { actorType: 'system' as const, actorId: null };
  if (outcome === 'rejected')
    return changeState(ctx, trx, application, 'reject', 'system', system, { decidedAt: new Date() });
  const approved = await changeState(ctx, trx, application, 'approve', 'system', system, {
    decidedAt: new Date(),
  });
  await issuePermit(
    ctx,
    trx,
    approved,
    reviews.flatMap((r) =>
      (conditions.get(r.site_id) ?? []).map((condition) => ({ siteId: r.site_id, condition })),
    ),
  );
  return approved;
}

async function beginReviewIfNeeded(
  ctx: HubContext,
  trx: Db,
  application: ApplicationRow,
): Promise<ApplicationRow> {
  if (application.state !== 'submitted' && application.state !== 'resubmitted') return application;
  return changeState(ctx, trx, application, 'begin_review', 'system', { actorType: 'system', actorId: null });
}

async function reviewForAction(trx: Db, user: AccessUser, reviewId: string) {
  const review = await findReview(trx, reviewId);
  if (!review) throw new ItdaError('not_found', `no review ${reviewId}`);
  // Lock the application: votes on one application are decided one at a time.
  const application = (await findApplication(trx, review.application_id, true))!;
  if (!(await drbSitesOf(trx, user.id)).includes(review.site_id))
    throw new ItdaError('forbidden', `only members of ${review.site_id}'s DRB act on its review`);
  if (review.round !== application.round)
    throw new ItdaError(
      'conflict',
      `review ${reviewId} belongs to round ${review.round}; the application is in round ${application.round}`,
    );
  const open: ApplicationState[] = ['submitted', 'resubmitted', 'under_review'];
  if (!open.includes(application.state))
    throw new ItdaError('conflict', `the application is ${application.state}; its reviews are closed`, {
      state: application.state,
    });
  return { review, application };
}

export async function castVote(
  ctx: HubContext,
  user: AccessUser,
  reviewId: string,
  input: VoteInput,
): Promise<ReviewView> {
  if (input.vote === 'approve_with_conditions' && input.conditions.length === 0)
    throw new ItdaError(
      'validation_failed',
      'conditions: approve_with_conditions needs at least one condition',
    );
  if (input.vote !== 'approve_with_conditions' && input.conditions.length > 0)
    throw new ItdaError('validation_failed', 'conditions: only approve_with_conditions sets conditions');
  await ctx.db.transaction().execute(async (trx) => {
    const { review, application } = await reviewForAction(trx, user, reviewId);
    if (review.joint_role === 'follower' && review.joint_choice !== 'opted_out')
      throw new ItdaError(
        'conflict',
        `${review.site_id} takes part in a joint review: the lead DRB votes, unless ${review.site_id} opts out`,
      );
    if (review.decision !== 'pending')
      throw new ItdaError('conflict', `${review.site_id}'s review is already decided (${review.decision})`);
    const inserted = await insertVote(trx, {
      reviewId,
      userId: user.id,
      vote: input.vote,
      comment: input.comment,
      conditions: input.conditions,
    });
    if (!inserted) throw new ItdaError('conflict', 'you already voted in this review round');
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'review.vote',
        targetType: 'review',
        targetId: reviewId,
        details: {
          applicationId: application.id,
          siteId: review.site_id,
          round: review.round,
          vote: input.vote,
        },
      },
      trx,
    );
    await settle(ctx, trx, await beginReviewIfNeeded(ctx, trx, application));
  });
  const [view] = await viewReviews(ctx, [(await findReview(ctx.db, reviewId))!], () => true);
  return view!;
}

/** In a joint review, a follower site accepts the lead DRB's decision or opts out to review itself. */
export async function chooseJointReview(
  ctx: HubContext,
  user: AccessUser,
  reviewId: string,
  choice: 'accepted' | 'opted_out',
): Promise<ReviewView> {
  await ctx.db.transaction().execute(async (trx) => {
    const { review, application } = await reviewForAction(trx, user, reviewId);
    if (review.joint_role !== 'follower')
      throw new ItdaError('conflict', `${review.site_id}'s review is not a follower in a joint review`);
    if (review.joint_choice !== null)
      throw new ItdaError(
        'conflict',
        `${review.site_id} already ${review.joint_choice === 'accepted' ? 'accepted' : 'opted out of'} the joint review`,
      );
    await updateReview(trx, reviewId, { jointChoice: choice });
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: choice === 'accepted' ? 'review.joint_accept' : 'review.joint_opt_out',
        targetType: 'review',
        targetId: reviewId,
        details: { applicationId: application.id, siteId: review.site_id, round: review.round },
      },
      trx,
    );
    await settle(ctx, trx, await beginReviewIfNeeded(ctx, trx, application));
  });
  const [view] = await viewReviews(ctx, [(await findReview(ctx.db, reviewId))!], () => true);
  return view!;
}

// ——— permits ———

const endOfDay = (date: string) => new Date(`${date}T23:59:59.999Z`);

async function issuePermit(
  ctx: HubContext,
  trx: Db,
  application: ApplicationRow,
  conditions: { siteId: string; condition: string }[],
): Promise<PermitRow> {
  const content = applicationContentSchema.parse(application.content);
  const now = new Date();
  const researchers = [
    ...new Set([application.applicant_id, ...content.members.flatMap((m) => (m.userId ? [m.userId] : []))]),
  ];
  const notAfter = new Date(
    Math.min(endOfDay(content.period.end).getTime(), endOfDay(content.irb.expiresOn).getTime()),
  );
  const body: PermitBody = {
    kind: 'itda-permit/1',
    permitId: randomUUID(),
    applicationId: application.id,
    researchers,
    sites: content.siteIds,
    datasets: content.datasetIds,
    cohortHash: cohortHash(content.cohort),
    allowedAnalyses: [...TASKS_BY_ANALYSIS_MODE[content.analysisMode]],
    analysisMode: content.analysisMode,
    conditions,
    issuedAt: now.toISOString(),
    notBefore: new Date(`${content.period.start}T00:00:00.000Z`).toISOString(),
    notAfter: notAfter.toISOString(),
  };
  const signed = signValue(ctx.keys.privateKey, ctx.keys.publicKey, body);
  const row = await insertPermit(trx, {
    id: body.permitId,
    applicationId: application.id,
    signed,
    sites: body.sites,
    researchers,
    notAfter,
  });
  await audit(
    ctx,
    {
      actorType: 'system',
      actorId: null,
      action: 'permit.issue',
      targetType: 'permit',
      targetId: body.permitId,
      details: {
        applicationId: application.id,
        sites: body.sites,
        notAfter: body.notAfter,
        conditions: conditions.length,
      },
    },
    trx,
  );
  await notifyPermit(
    ctx,
    trx,
    { id: body.permitId, applicationId: application.id, researchers, sites: body.sites },
    'issued',
  );
  return row;
}

function permitStatus(row: PermitRow, now = new Date()): PermitStatus {
  if (row.revoked_at) return 'revoked';
  const body = row.signed.body as PermitBody;
  if (now.getTime() >= Date.parse(body.notAfter)) return 'expired';
  if (now.getTime() < Date.parse(body.notBefore)) return 'not_yet_valid';
  return 'active';
}

function viewPermit(row: PermitRow): PermitView {
  return {
    id: row.id,
    applicationId: row.application_id,
    status: permitStatus(row),
    permit: row.signed as SignedPermit,
    issuedAt: row.issued_at.toISOString(),
    revokedAt: row.revoked_at?.toISOString() ?? null,
    revokeReason: row.revoke_reason,
  };
}

async function readablePermit(ctx: HubContext, user: AccessUser, permitId: string): Promise<PermitRow> {
  const row = await findPermit(ctx.db, permitId);
  if (!row) throw new ItdaError('not_found', `no permit ${permitId}`);
  await loadReadable(ctx, user, row.application_id).catch(() => {
    throw new ItdaError('not_found', `no permit ${permitId}`);
  });
  return row;
}

export async function getPermit(ctx: HubContext, user: AccessUser, permitId: string): Promise<PermitView> {
  return viewPermit(await readablePermit(ctx, user, permitId));
}

/** Revokes a permit (an admin, or a DRB member of one of its sites); sites learn it on their next poll. */
export async function revokePermit(
  ctx: HubContext,
  user: AccessUser,
  permitId: string,
  reason: string,
): Promise<PermitView> {
  const row = await readablePermit(ctx, user, permitId);
  const drb = await drbSitesFor(ctx.db, user);
  if (!isAdmin(user) && !row.sites.some((s) => drb.includes(s)))
    throw new ItdaError('forbidden', "only an admin or a member of a permitted site's DRB revokes a permit");
  const revoked = await ctx.db.transaction().execute(async (trx) => {
    const updated = await revokePermitRow(trx, permitId, user.id, reason);
    if (!updated) throw new ItdaError('conflict', `permit ${permitId} is already revoked`);
    await audit(
      ctx,
      {
        ...actorOf(user),
        action: 'permit.revoke',
        targetType: 'permit',
        targetId: permitId,
        details: { reason, sites: row.sites },
      },
      trx,
    );
    await notifyPermit(
      ctx,
      trx,
      { id: permitId, applicationId: row.application_id, researchers: row.researchers, sites: row.sites },
      'revoked',
      reason,
    );
    return updated;
  });
  return viewPermit(revoked);
}

/** The revoked permits a site must refuse (sent with every poll reply). */
export function revokedPermitsForSite(ctx: HubContext, siteId: string): Promise<string[]> {
  return revokedPermitIds(ctx.db, siteId, new Date());
}

/** Sends a permitted analysis to the permit's sites (or some of them), each task carrying the permit. */
export async function runPermittedTask(
  ctx: HubContext,
  user: AccessUser,
  permitId: string,
  input: { type: 'cohort_count'; siteIds?: string[] | undefined },
): Promise<TaskView[]> {
  const row = await readablePermit(ctx, user, permitId);
  if (!row.researchers.includes(user.id))
    throw new ItdaError('forbidden', `only the researchers permit ${permitId} names run analyses under it`);
  const status = permitStatus(row);
  if (status !== 'active')
    throw new ItdaError(
      status === 'expired' ? 'permit_expired' : 'permit_invalid',
      `permit ${permitId} is ${status}`,
    );
  const permit = row.signed as SignedPermit;
  if (!permit.body.allowedAnalyses.includes(input.type))
    throw new ItdaError('permit_invalid', `permit ${permitId} does not allow ${input.type}`);
  const sites = input.siteIds ?? permit.body.sites;
  const outside = sites.filter((s) => !permit.body.sites.includes(s));
  if (outside.length > 0)
    throw new ItdaError('permit_invalid', `permit ${permitId} does not name ${outside.join(', ')}`);
  const application = (await findApplication(ctx.db, row.application_id))!;
  const cohort = (application.content as ApplicationDraft).cohort ?? {};
  const tasks: TaskView[] = [];
  for (const siteId of sites)
    tasks.push(
      await enqueueTask(
        ctx,
        siteId,
        { type: 'cohort_count', payload: { cohort } },
        { actor: actorOf(user), permit },
      ),
    );
  return tasks;
}

// ——— views ———

function viewAttachment(row: AttachmentRow): AttachmentView {
  return {
    id: row.id,
    kind: row.kind,
    fileName: row.file_name,
    mediaType: row.media_type,
    size: Number(row.size_bytes),
    sha256: row.sha256,
    uploadedAt: row.uploaded_at.toISOString(),
  };
}

/** Reviews as the API shows them; votes only on those `withVotes` picks. */
async function viewReviews(
  ctx: HubContext,
  rows: readonly ReviewRow[],
  withVotes: (review: ReviewRow) => boolean,
): Promise<ReviewView[]> {
  const [votes, drbs] = await Promise.all([
    votesOf(
      ctx.db,
      rows.filter(withVotes).map((r) => r.id),
    ),
    drbSizes(ctx.db, [...new Set(rows.map((r) => r.site_id))]),
  ]);
  return rows.map((r) => ({
    id: r.id,
    applicationId: r.application_id,
    siteId: r.site_id,
    round: r.round,
    jointRole: r.joint_role,
    jointChoice: r.joint_choice,
    decision: r.decision,
    conditions: r.conditions,
    duo: r.duo as SiteDuoCheck,
    quorum: drbs.get(r.site_id)?.quorum ?? null,
    members: drbs.get(r.site_id)?.members ?? null,
    ...(withVotes(r)
      ? {
          votes: votes
            .filter((v) => v.review_id === r.id)
            .map((v) => ({
              userId: v.user_id,
              vote: v.vote,
              comment: v.comment,
              conditions: v.conditions,
              castAt: v.cast_at.toISOString(),
            })),
        }
      : {}),
    decidedAt: r.decided_at?.toISOString() ?? null,
  }));
}

function summarise(row: ApplicationRow): ApplicationSummary {
  return {
    id: row.id,
    title: draftOf(row).title ?? '',
    state: row.state,
    round: row.round,
    applicantId: row.applicant_id,
    siteIds: requestedSites(row),
    updatedAt: row.updated_at.toISOString(),
  };
}

async function viewApplication(
  ctx: HubContext,
  user: AccessUser,
  row: ApplicationRow,
  options: { asReviewerOf?: string } = {},
): Promise<ApplicationView> {
  const rel = await relationTo(ctx, user, row);
  // Independent reads go out together; a permit exists only once an application is approved.
  const [allReviews, attachments, permits] = await Promise.all([
    row.round > 0 ? reviewsOf(ctx.db, row.id, row.round) : [],
    listAttachments(ctx.db, row.id),
    row.state === 'approved' || row.state === 'closed' ? permitsOf(ctx.db, row.id) : [],
  ]);
  const everySite = rel.applicant || rel.member || rel.admin;
  const ownSites = new Set([
    ...rel.drbSites,
    ...rel.stewardSites,
    ...(options.asReviewerOf ? [options.asReviewerOf] : []),
  ]);
  const visible = allReviews.filter((r) => everySite || ownSites.has(r.site_id));
  // Votes are the DRB's own business: only its members, the site's stewards and admins see them.
  const reviews = (await viewReviews(ctx, visible, (r) => rel.admin || ownSites.has(r.site_id))).sort(
    (a, b) => a.siteId.localeCompare(b.siteId),
  );
  return {
    ...summarise(row),
    content: draftOf(row),
    cohortHash: row.cohort_hash,
    createdAt: row.created_at.toISOString(),
    submittedAt: row.submitted_at?.toISOString() ?? null,
    decidedAt: row.decided_at?.toISOString() ?? null,
    attachments: attachments.map(viewAttachment),
    reviews,
    permits: permits.map(viewPermit),
  };
}
