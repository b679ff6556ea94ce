/**
 * The in-app inbox. Other capabilities call `notify` (inside their own transaction when
 * they have one, so a rolled-back change notifies no one); users list their
 * notifications, unread first, and mark them read. E-mail goes out through mailer.ts.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ItdaError } from '../../protocol/errors.ts';
import type { InboxPage, NotificationView } from '../../protocol/notifications.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { mailerOf } from './mailer.ts';
import { countsOf, inboxOf, insertNotifications, markRead, type NotificationRow } from './store.ts';

export interface NotificationInput {
  userIds: readonly string[];
  /** A stable name of the event, e.g. `application.submitted`. */
  kind: string;
  title: { ko: string; en: string };
  body: string;
  /** A path in the web app the notification opens. */
  link?: string | null;
}

/**
 * Writes one notification per distinct user (and queues its e-mail when SMTP is set).
 * Pass `trx` to make the notifications part of the change they report.
 */
export async function notify(
  ctx: HubContext,
  input: NotificationInput,
  trx?: Kysely<HubDatabase>,
): Promise<number> {
  const userIds = [...new Set(input.userIds)];
  const email = ctx.config.smtp !== undefined;
  await insertNotifications(
    trx ?? ctx.db,
    userIds.map((userId) => ({
      id: randomUUID(),
      userId,
      kind: input.kind,
      titleKo: input.title.ko,
      titleEn: input.title.en,
      body: input.body,
      link: input.link ?? null,
      email,
    })),
  );
  if (email && userIds.length > 0) mailerOf(ctx)?.kick();
  return userIds.length;
}

function view(row: NotificationRow): NotificationView {
  return {
    id: row.id,
    kind: row.kind,
    title: { ko: row.title_ko, en: row.title_en },
    body: row.body,
    link: row.link,
    createdAt: row.created_at.toISOString(),
    readAt: row.read_at?.toISOString() ?? null,
  };
}

/** The user's own notifications, unread first, newest first, a page at a time. */
export async function inbox(
  ctx: HubContext,
  userId: string,
  page: { limit: number; offset: number },
): Promise<InboxPage> {
  const [rows, counts] = await Promise.all([
    inboxOf(ctx.db, userId, page.limit, page.offset),
    countsOf(ctx.db, userId),
  ]);
  return { ...counts, limit: page.limit, offset: page.offset, items: rows.map(view) };
}

export async function unreadCount(ctx: HubContext, userId: string): Promise<number> {
  return (await countsOf(ctx.db, userId)).unread;
}

/** Marks one of the user's own notifications read; another user's is "not found". */
export async function markNotificationRead(
  ctx: HubContext,
  userId: string,
  id: string,
): Promise<NotificationView> {
  const row = await markRead(ctx.db, userId, id, new Date());
  if (!row) throw new ItdaError('not_found', `no notification ${id}`);
  return view(row);
}
