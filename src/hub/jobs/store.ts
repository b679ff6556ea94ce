import { type Kysely, type Selectable, sql } from 'kysely';
import type { HubDatabase, TaskStatus, TaskTable } from '../db/schema.ts';

export type TaskRow = Selectable<TaskTable>;

export async function insertTask(
  db: Kysely<HubDatabase>,
  task: {
    id: string;
    siteId: string;
    type: string;
    permitId: string | null;
    signed: unknown;
    expiresAt: Date;
  },
): Promise<TaskRow> {
  return db
    .insertInto('task')
    .values({
      id: task.id,
      site_id: task.siteId,
      type: task.type,
      permit_id: task.permitId,
      signed: JSON.stringify(task.signed),
      status: 'queued',
      expires_at: task.expiresAt,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findTask(db: Kysely<HubDatabase>, id: string): Promise<TaskRow | undefined> {
  return db.selectFrom('task').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Hands a site its queued tasks, marking them delivered in the same statement so two
 * concurrent polls never receive the same task. Tasks delivered long ago without a
 * result (the site crashed mid-task) are handed out again.
 */
export async function claimTasks(
  db: Kysely<HubDatabase>,
  siteId: string,
  now: Date,
  redeliverBefore: Date,
): Promise<TaskRow[]> {
  await db
    .updateTable('task')
    .set({ status: 'expired' })
    .where('site_id', '=', siteId)
    .where('status', 'in', ['queued', 'delivered'])
    .where('expires_at', '<=', now)
    .execute();
  return db
    .updateTable('task')
    .set({ status: 'delivered', delivered_at: now })
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('task')
        .select('id')
        .where('site_id', '=', siteId)
        .where((w) =>
          w.or([
            w('status', '=', 'queued'),
            w.and([w('status', '=', 'delivered'), w('delivered_at', '<', redeliverBefore)]),
          ]),
        )
        .orderBy('created_at')
        .limit(20)
        .modifyEnd(sql`for update skip locked`),
    )
    .returningAll()
    .execute();
}

export async function completeTask(
  db: Kysely<HubDatabase>,
  id: string,
  outcome: Extract<TaskStatus, 'done' | 'refused' | 'failed'>,
  result: unknown,
  error: { code: string; message: string } | undefined,
): Promise<TaskRow | undefined> {
  return db
    .updateTable('task')
    .set({
      status: outcome,
      completed_at: new Date(),
      result: result === undefined ? null : JSON.stringify(result),
      error: error ? JSON.stringify(error) : null,
    })
    .where('id', '=', id)
    .where('status', 'in', ['queued', 'delivered'])
    .returningAll()
    .executeTakeFirst();
}
