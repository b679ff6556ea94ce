/** SQL of the inbox and of its e-mail outbox (table notification, migration 8). */
import { type Kysely, type Selectable, sql } from 'kysely';
import type { HubDatabase, NotificationTable } from '../db/schema.ts';

export type NotificationRow = Selectable<NotificationTable>;
type Db = Kysely<HubDatabase>;

export interface NewNotification {
  id: string;
  userId: string;
  kind: string;
  titleKo: string;
  titleEn: string;
  body: string;
  link: string | null;
  email: boolean;
}

export async function insertNotifications(db: Db, rows: readonly NewNotification[]): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('notification')
    .values(
      rows.map((n) => ({
        id: n.id,
        user_id: n.userId,
        kind: n.kind,
        title_ko: n.titleKo,
        title_en: n.titleEn,
        body: n.body,
        link: n.link,
        email_status: n.email ? ('pending' as const) : ('none' as const),
        email_next_at: n.email ? new Date() : null,
        // now() is the transaction's start: notifications written in one transaction
        // would tie, and the inbox would not show them in the order they happened.
        created_at: sql<Date>`clock_timestamp()`,
      })),
    )
    .execute();
}

/** A user's notifications, unread first, then newest first. */
export function inboxOf(db: Db, userId: string, limit: number, offset: number): Promise<NotificationRow[]> {
  return db
    .selectFrom('notification')
    .selectAll()
    .where('user_id', '=', userId)
    .orderBy(sql`read_at is null`, 'desc')
    .orderBy('created_at', 'desc')
    .orderBy('seq', 'desc')
    .limit(limit)
    .offset(offset)
    .execute();
}

export async function countsOf(db: Db, userId: string): Promise<{ total: number; unread: number }> {
  const row = await db
    .selectFrom('notification')
    .select([
      (eb) => eb.fn.countAll<string>().as('total'),
      sql<string>`count(*) filter (where read_at is null)`.as('unread'),
    ])
    .where('user_id', '=', userId)
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), unread: Number(row.unread) };
}

/** Marks one of the user's notifications read; undefined when it is not theirs. */
export function markRead(db: Db, userId: string, id: string, at: Date): Promise<NotificationRow | undefined> {
  return db
    .updateTable('notification')
    .set({ read_at: sql`coalesce(read_at, ${at})` })
    .where('id', '=', id)
    .where('user_id', '=', userId)
    .returningAll()
    .executeTakeFirst();
}

export interface DueEmail {
  id: string;
  email: string;
  title_ko: string;
  title_en: string;
  body: string;
  link: string | null;
  email_attempts: number;
}

/**
 * Claims up to `limit` due e-mails by pushing their next attempt `leaseMs` ahead, so two
 * hubs on one database (or two overlapping runs) never send the same one twice.
 */
export async function claimDueEmails(db: Db, now: Date, limit: number, leaseMs: number): Promise<DueEmail[]> {
  return db.transaction().execute(async (trx) => {
    const due = await trx
      .selectFrom('notification')
      .select('id')
      .where('email_status', '=', 'pending')
      .where('email_next_at', '<=', now)
      .orderBy('email_next_at')
      .limit(limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (due.length === 0) return [];
    const ids = due.map((d) => d.id);
    await trx
      .updateTable('notification')
      .set({ email_next_at: new Date(now.getTime() + leaseMs) })
      .where('id', 'in', ids)
      .execute();
    return trx
      .selectFrom('notification as n')
      .innerJoin('app_user as u', 'u.id', 'n.user_id')
      .select(['n.id', 'u.email', 'n.title_ko', 'n.title_en', 'n.body', 'n.link', 'n.email_attempts'])
      .where('n.id', 'in', ids)
      .execute();
  });
}

export async function markEmailSent(db: Db, id: string): Promise<void> {
  await db
    .updateTable('notification')
    .set({ email_status: 'sent', email_error: null, email_next_at: null })
    .where('id', '=', id)
    .execute();
}

export async function markEmailFailed(
  db: Db,
  id: string,
  attempts: number,
  error: string,
  nextAt: Date | null,
): Promise<void> {
  await db
    .updateTable('notification')
    .set({
      email_attempts: attempts,
      email_error: error.slice(0, 1000),
      email_status: nextAt ? 'pending' : 'failed',
      email_next_at: nextAt,
    })
    .where('id', '=', id)
    .execute();
}

/** Users holding a per-site role at any of the sites (e.g. the stewards of matched sites). */
export async function siteRoleHolders(
  db: Db,
  siteIds: readonly string[],
  role: 'steward' | 'drb_member',
): Promise<string[]> {
  if (siteIds.length === 0) return [];
  const rows = await db
    .selectFrom('user_site_role')
    .select('user_id')
    .distinct()
    .where('site_id', 'in', siteIds)
    .where('role', '=', role)
    .execute();
  return rows.map((r) => r.user_id);
}

/** Members of the configured DRBs of the sites (the ones who vote). */
export async function drbMembersOf(db: Db, siteIds: readonly string[]): Promise<string[]> {
  if (siteIds.length === 0) return [];
  const rows = await db
    .selectFrom('drb_member')
    .select('user_id')
    .distinct()
    .where('site_id', 'in', siteIds)
    .execute();
  return rows.map((r) => r.user_id);
}
