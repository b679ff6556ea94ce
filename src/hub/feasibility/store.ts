/** SQL of feasibility queries (tables of migration 5) and their sites' tasks. */
import type { Kysely, Selectable } from 'kysely';
import type { FeasibilityQueryTable, HubDatabase } from '../db/schema.ts';

export type FeasibilityQueryRow = Selectable<FeasibilityQueryTable>;

export interface FeasibilitySiteRow {
  query_id: string;
  site_id: string;
  site_name: string;
  task_id: string | null;
  send_error: { code: string; message: string } | null;
  status: string | null;
  answer: unknown;
  error: { code: string; message: string } | null;
  answered_at: Date | null;
  task_status: string | null;
  task_result: unknown;
  task_error: { code: string; message: string } | null;
  task_completed_at: Date | null;
}

export async function insertQuery(
  db: Kysely<HubDatabase>,
  query: {
    id: string;
    userId: string;
    name: string | null;
    definition: Record<string, unknown>;
    definitionHash: string;
    inclusionRules: string[];
    timeoutSeconds: number;
    createdAt: Date;
    deadline: Date;
    siteIds: string[];
  },
): Promise<void> {
  await db
    .insertInto('feasibility_query')
    .values({
      id: query.id,
      user_id: query.userId,
      name: query.name,
      definition: JSON.stringify(query.definition),
      definition_hash: query.definitionHash,
      inclusion_rules: JSON.stringify(query.inclusionRules),
      timeout_seconds: query.timeoutSeconds,
      status: 'running',
      created_at: query.createdAt,
      deadline: query.deadline,
    })
    .execute();
  await db
    .insertInto('feasibility_site')
    .values(query.siteIds.map((siteId) => ({ query_id: query.id, site_id: siteId })))
    .execute();
}

export async function setSiteTask(
  db: Kysely<HubDatabase>,
  queryId: string,
  siteId: string,
  sent: { taskId: string } | { error: { code: string; message: string } },
): Promise<void> {
  await db
    .updateTable('feasibility_site')
    .set('taskId' in sent ? { task_id: sent.taskId } : { send_error: JSON.stringify(sent.error) })
    .where('query_id', '=', queryId)
    .where('site_id', '=', siteId)
    .execute();
}

export function findQuery(db: Kysely<HubDatabase>, id: string): Promise<FeasibilityQueryRow | undefined> {
  return db.selectFrom('feasibility_query').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The query's sites with their task's current state (for a running query) and frozen answer. */
export async function listQuerySites(
  db: Kysely<HubDatabase>,
  queryIds: string[],
): Promise<FeasibilitySiteRow[]> {
  if (queryIds.length === 0) return [];
  const rows = await db
    .selectFrom('feasibility_site as f')
    .leftJoin('task as t', 't.id', 'f.task_id')
    .leftJoin('site as s', 's.id', 'f.site_id')
    .select([
      'f.query_id',
      'f.site_id',
      's.name as site_name',
      'f.task_id',
      'f.send_error',
      'f.status',
      'f.answer',
      'f.error',
      'f.answered_at',
      't.status as task_status',
      't.result as task_result',
      't.error as task_error',
      't.completed_at as task_completed_at',
    ])
    .where('f.query_id', 'in', queryIds)
    .orderBy('f.site_id')
    .execute();
  return rows.map((r) => ({ ...r, site_name: r.site_name ?? r.site_id }));
}

/** The user's queries, newest first. */
export function listUserQueries(
  db: Kysely<HubDatabase>,
  userId: string,
  options: { since?: Date; limit?: number } = {},
): Promise<FeasibilityQueryRow[]> {
  let q = db.selectFrom('feasibility_query').selectAll().where('user_id', '=', userId);
  if (options.since) q = q.where('created_at', '>=', options.since);
  return q
    .orderBy('created_at', 'desc')
    .orderBy('id')
    .limit(options.limit ?? 200)
    .execute();
}

/**
 * Settles a running query: freezes each site's outcome and sets the query's status.
 * Returns false when another caller settled it first (nothing is written then).
 */
export async function settleQuery(
  db: Kysely<HubDatabase>,
  id: string,
  outcome: { status: 'complete' | 'refused'; refusal: string | null; completedAt: Date },
  sites: {
    siteId: string;
    status: string;
    answer: unknown;
    error: { code: string; message: string } | null;
    answeredAt: Date | null;
  }[],
): Promise<boolean> {
  const updated = await db
    .updateTable('feasibility_query')
    .set({ status: outcome.status, refusal: outcome.refusal, completed_at: outcome.completedAt })
    .where('id', '=', id)
    .where('status', '=', 'running')
    .executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) return false;
  for (const site of sites)
    await db
      .updateTable('feasibility_site')
      .set({
        status: site.status,
        answer: site.answer === null ? null : JSON.stringify(site.answer),
        error: site.error ? JSON.stringify(site.error) : null,
        answered_at: site.answeredAt,
      })
      .where('query_id', '=', id)
      .where('site_id', '=', site.siteId)
      .execute();
  return true;
}
