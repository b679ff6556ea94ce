/** SQL of the access workflow (Kysely); the rules are in service.ts. */
import { type Kysely, type Selectable, sql } from 'kysely';
import type {
  ApplicationAttachmentTable,
  ApplicationTable,
  HubDatabase,
  PermitTable,
  ReviewTable,
  ReviewVoteTable,
} from '../db/schema.ts';

export type ApplicationRow = Selectable<ApplicationTable>;
export type AttachmentRow = Selectable<ApplicationAttachmentTable>;
export type ReviewRow = Selectable<ReviewTable>;
export type VoteRow = Selectable<ReviewVoteTable>;
export type PermitRow = Selectable<PermitTable>;
type Db = Kysely<HubDatabase>;

export async function insertApplication(
  db: Db,
  row: { id: string; applicantId: string; content: unknown; cohortHash: string | null },
): Promise<ApplicationRow> {
  return db
    .insertInto('application')
    .values({
      id: row.id,
      applicant_id: row.applicantId,
      state: 'draft',
      content: JSON.stringify(row.content),
      cohort_hash: row.cohortHash,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Reads an application; `forUpdate` locks its row so concurrent votes decide one at a time. */
export function findApplication(db: Db, id: string, forUpdate = false): Promise<ApplicationRow | undefined> {
  const query = db.selectFrom('application').selectAll().where('id', '=', id);
  return (forUpdate ? query.forUpdate() : query).executeTakeFirst();
}

export async function updateApplication(
  db: Db,
  id: string,
  changes: Partial<{
    state: ApplicationRow['state'];
    content: unknown;
    cohortHash: string | null;
    round: number;
    submittedAt: Date;
    decidedAt: Date | null;
  }>,
): Promise<ApplicationRow> {
  return db
    .updateTable('application')
    .set({
      updated_at: new Date(),
      ...(changes.state ? { state: changes.state } : {}),
      ...(changes.content !== undefined ? { content: JSON.stringify(changes.content) } : {}),
      ...(changes.cohortHash !== undefined ? { cohort_hash: changes.cohortHash } : {}),
      ...(changes.round !== undefined ? { round: changes.round } : {}),
      ...(changes.submittedAt ? { submitted_at: changes.submittedAt } : {}),
      ...(changes.decidedAt !== undefined ? { decided_at: changes.decidedAt } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Applications a user applied for, or that request one of `siteIds` and were submitted. */
export function listApplications(
  db: Db,
  filter: { all?: boolean; applicantId: string; reviewSiteIds: readonly string[]; limit: number },
): Promise<ApplicationRow[]> {
  let query = db.selectFrom('application').selectAll();
  if (!filter.all) {
    query = query.where((w) =>
      w.or([
        w('applicant_id', '=', filter.applicantId),
        ...(filter.reviewSiteIds.length > 0
          ? [
              w(
                'id',
                'in',
                w.selectFrom('review').select('application_id').where('site_id', 'in', filter.reviewSiteIds),
              ),
            ]
          : []),
      ]),
    );
  }
  return query.orderBy('updated_at', 'desc').limit(filter.limit).execute();
}

export async function insertAttachment(
  db: Db,
  row: Omit<AttachmentRow, 'uploaded_at'>,
): Promise<AttachmentRow> {
  return db.insertInto('application_attachment').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAttachment(
  db: Db,
  applicationId: string,
  id: string,
): Promise<AttachmentRow | undefined> {
  return db
    .selectFrom('application_attachment')
    .selectAll()
    .where('application_id', '=', applicationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export function listAttachments(db: Db, applicationId: string): Promise<AttachmentRow[]> {
  return db
    .selectFrom('application_attachment')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('uploaded_at')
    .execute();
}

export interface DrbRecord {
  siteId: string;
  quorum: number;
  members: { userId: string; external: boolean; name: string; email: string }[];
}

export async function replaceDrb(
  db: Db,
  drb: { siteId: string; quorum: number; members: readonly { userId: string; external: boolean }[] },
  configuredBy: string | null,
): Promise<void> {
  await db
    .insertInto('drb')
    .values({ site_id: drb.siteId, quorum: drb.quorum, configured_by: configuredBy })
    .onConflict((oc) =>
      oc
        .column('site_id')
        .doUpdateSet({ quorum: drb.quorum, configured_by: configuredBy, configured_at: new Date() }),
    )
    .execute();
  await db.deleteFrom('drb_member').where('site_id', '=', drb.siteId).execute();
  await db
    .insertInto('drb_member')
    .values(drb.members.map((m) => ({ site_id: drb.siteId, user_id: m.userId, external: m.external })))
    .execute();
}

export async function findDrb(db: Db, siteId: string): Promise<DrbRecord | undefined> {
  const drb = await db.selectFrom('drb').selectAll().where('site_id', '=', siteId).executeTakeFirst();
  if (!drb) return undefined;
  const members = await db
    .selectFrom('drb_member')
    .innerJoin('app_user', 'app_user.id', 'drb_member.user_id')
    .select(['drb_member.user_id', 'drb_member.external', 'app_user.name', 'app_user.email'])
    .where('drb_member.site_id', '=', siteId)
    .orderBy('app_user.email')
    .execute();
  return {
    siteId,
    quorum: drb.quorum,
    members: members.map((m) => ({ userId: m.user_id, external: m.external, name: m.name, email: m.email })),
  };
}

/** Quorum and number of members of each named site's DRB, in one query; unconfigured sites are absent. */
export async function drbSizes(
  db: Db,
  siteIds: readonly string[],
): Promise<Map<string, { quorum: number; members: number }>> {
  if (siteIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('drb')
    .leftJoin('drb_member', 'drb_member.site_id', 'drb.site_id')
    .select(['drb.site_id', 'drb.quorum', (eb) => eb.fn.count<number>('drb_member.user_id').as('members')])
    .where('drb.site_id', 'in', siteIds)
    .groupBy(['drb.site_id', 'drb.quorum'])
    .execute();
  return new Map(rows.map((r) => [r.site_id, { quorum: r.quorum, members: Number(r.members) }]));
}

/** The sites on whose DRB the user sits. */
export async function drbSitesOf(db: Db, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('drb_member').select('site_id').where('user_id', '=', userId).execute();
  return rows.map((r) => r.site_id);
}

export function existingUserIds(db: Db, ids: readonly string[]): Promise<{ id: string }[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('app_user').select('id').where('id', 'in', ids).execute();
}

export async function insertReviews(
  db: Db,
  rows: readonly {
    id: string;
    applicationId: string;
    siteId: string;
    round: number;
    jointRole: ReviewRow['joint_role'];
    duo: unknown;
  }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('review')
    .values(
      rows.map((r) => ({
        id: r.id,
        application_id: r.applicationId,
        site_id: r.siteId,
        round: r.round,
        joint_role: r.jointRole,
        joint_choice: null,
        decision: 'pending' as const,
        duo: JSON.stringify(r.duo),
      })),
    )
    .execute();
}

export function reviewsOf(db: Db, applicationId: string, round?: number): Promise<ReviewRow[]> {
  let query = db.selectFrom('review').selectAll().where('application_id', '=', applicationId);
  if (round !== undefined) query = query.where('round', '=', round);
  return query.orderBy('round').orderBy('site_id').execute();
}

export function findReview(db: Db, id: string): Promise<ReviewRow | undefined> {
  return db.selectFrom('review').selectAll().where('id', '=', id).executeTakeFirst();
}

export function reviewsForSite(db: Db, siteId: string, limit: number): Promise<ReviewRow[]> {
  return db
    .selectFrom('review')
    .selectAll()
    .where('site_id', '=', siteId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

export async function updateReview(
  db: Db,
  id: string,
  changes: Partial<{
    decision: ReviewRow['decision'];
    conditions: string[];
    jointChoice: ReviewRow['joint_choice'];
  }>,
): Promise<void> {
  await db
    .updateTable('review')
    .set({
      ...(changes.decision ? { decision: changes.decision } : {}),
      ...(changes.decision && changes.decision !== 'pending' ? { decided_at: new Date() } : {}),
      ...(changes.conditions ? { conditions: JSON.stringify(changes.conditions) } : {}),
      ...(changes.jointChoice !== undefined ? { joint_choice: changes.jointChoice } : {}),
    })
    .where('id', '=', id)
    .execute();
}

/** Inserts a vote; false when the member already voted in this review (one vote per round). */
export async function insertVote(
  db: Db,
  vote: { reviewId: string; userId: string; vote: VoteRow['vote']; comment: string; conditions: string[] },
): Promise<boolean> {
  const inserted = await db
    .insertInto('review_vote')
    .values({
      review_id: vote.reviewId,
      user_id: vote.userId,
      vote: vote.vote,
      comment: vote.comment,
      conditions: JSON.stringify(vote.conditions),
    })
    .onConflict((oc) => oc.columns(['review_id', 'user_id']).doNothing())
    .returning('review_id')
    .executeTakeFirst();
  return inserted !== undefined;
}

export function votesOf(db: Db, reviewIds: readonly string[]): Promise<VoteRow[]> {
  if (reviewIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('review_vote')
    .selectAll()
    .where('review_id', 'in', reviewIds)
    .orderBy('cast_at')
    .execute();
}

export async function insertPermit(
  db: Db,
  row: {
    id: string;
    applicationId: string;
    signed: unknown;
    sites: string[];
    researchers: string[];
    notAfter: Date;
  },
): Promise<PermitRow> {
  return db
    .insertInto('permit')
    .values({
      id: row.id,
      application_id: row.applicationId,
      signed: JSON.stringify(row.signed),
      sites: JSON.stringify(row.sites),
      researchers: JSON.stringify(row.researchers),
      not_after: row.notAfter,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findPermit(db: Db, id: string): Promise<PermitRow | undefined> {
  return db.selectFrom('permit').selectAll().where('id', '=', id).executeTakeFirst();
}

export function permitsOf(db: Db, applicationId: string): Promise<PermitRow[]> {
  return db
    .selectFrom('permit')
    .selectAll()
    .where('application_id', '=', applicationId)
    .orderBy('issued_at')
    .execute();
}

/** Marks a permit revoked; undefined when it was revoked already. */
export function revokePermitRow(
  db: Db,
  id: string,
  by: string,
  reason: string,
): Promise<PermitRow | undefined> {
  return db
    .updateTable('permit')
    .set({ revoked_at: new Date(), revoked_by: by, revoke_reason: reason })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst();
}

/** Ids of revoked permits that name the site and have not expired (expired ones the site refuses anyway). */
export async function revokedPermitIds(db: Db, siteId: string, now: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('permit')
    .select('id')
    .where('revoked_at', 'is not', null)
    .where('not_after', '>', now)
    .where(sql<boolean>`sites @> ${JSON.stringify([siteId])}::jsonb`)
    .orderBy('id')
    .execute();
  return rows.map((r) => r.id);
}
