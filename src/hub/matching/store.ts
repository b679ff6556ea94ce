/** SQL of data needs, their ranked matches and the stewards' responses (migration 8). */
import type { Kysely, Selectable } from 'kysely';
import type { DataNeedTable, HubDatabase, NeedMatchTable, NeedResponseTable } from '../db/schema.ts';

type Db = Kysely<HubDatabase>;
export type NeedRow = Selectable<DataNeedTable>;
export type MatchRow = Selectable<NeedMatchTable>;
export type ResponseRow = Selectable<NeedResponseTable>;

export async function insertNeed(
  db: Db,
  need: { id: string; posterId: string; content: unknown },
): Promise<NeedRow> {
  return db
    .insertInto('data_need')
    .values({ id: need.id, poster_id: need.posterId, state: 'open', content: JSON.stringify(need.content) })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findNeed(db: Db, id: string, forUpdate = false): Promise<NeedRow | undefined> {
  return db
    .selectFrom('data_need')
    .selectAll()
    .where('id', '=', id)
    .$if(forUpdate, (q) => q.forUpdate())
    .executeTakeFirst();
}

export async function updateNeed(
  db: Db,
  id: string,
  changes: { state?: NeedRow['state']; applicationId?: string },
): Promise<NeedRow> {
  return db
    .updateTable('data_need')
    .set({
      updated_at: new Date(),
      ...(changes.state ? { state: changes.state } : {}),
      ...(changes.applicationId ? { application_id: changes.applicationId } : {}),
    })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertMatches(
  db: Db,
  rows: readonly { needId: string; datasetId: string; siteId: string; score: number; breakdown: unknown }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto('need_match')
    .values(
      rows.map((r) => ({
        need_id: r.needId,
        dataset_id: r.datasetId,
        site_id: r.siteId,
        score: r.score,
        breakdown: JSON.stringify(r.breakdown),
      })),
    )
    .execute();
}

export function matchesOf(db: Db, needId: string) {
  return db
    .selectFrom('need_match as m')
    .innerJoin('site as s', 's.id', 'm.site_id')
    .leftJoin('dataset as d', 'd.id', 'm.dataset_id')
    .select([
      'm.dataset_id',
      'm.site_id',
      's.name as site_name',
      'm.score',
      'm.breakdown',
      'd.title_ko',
      'd.title_en',
    ])
    .where('m.need_id', '=', needId)
    .orderBy('m.score', 'desc')
    .orderBy('m.dataset_id')
    .execute();
}

export function responsesOf(db: Db, needId: string): Promise<ResponseRow[]> {
  return db
    .selectFrom('need_response')
    .selectAll()
    .where('need_id', '=', needId)
    .orderBy('site_id')
    .execute();
}

/** The latest response per site replaces the previous one. */
export async function upsertResponse(
  db: Db,
  r: {
    needId: string;
    siteId: string;
    responderId: string;
    response: ResponseRow['response'];
    message: string;
  },
): Promise<void> {
  const values = {
    need_id: r.needId,
    site_id: r.siteId,
    responder_id: r.responderId,
    response: r.response,
    message: r.message,
    responded_at: new Date(),
  };
  await db
    .insertInto('need_response')
    .values(values)
    .onConflict((oc) =>
      oc.columns(['need_id', 'site_id']).doUpdateSet({
        responder_id: values.responder_id,
        response: values.response,
        message: values.message,
        responded_at: values.responded_at,
      }),
    )
    .execute();
}

/** Needs posted by the user, newest first. */
export function needsPostedBy(db: Db, posterId: string): Promise<NeedRow[]> {
  return db
    .selectFrom('data_need')
    .selectAll()
    .where('poster_id', '=', posterId)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Needs with a match at or above `threshold` at one of the sites, newest first. */
export function needsMatchedAt(db: Db, siteIds: readonly string[], threshold: number): Promise<NeedRow[]> {
  if (siteIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('data_need')
    .selectAll()
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('need_match')
        .select('need_id')
        .where('site_id', 'in', siteIds)
        .where('score', '>=', threshold),
    )
    .orderBy('created_at', 'desc')
    .execute();
}

export function allNeeds(db: Db): Promise<NeedRow[]> {
  return db.selectFrom('data_need').selectAll().orderBy('created_at', 'desc').limit(500).execute();
}

/** Sites with a match at or above the threshold, per need. */
export async function matchedSitesOf(
  db: Db,
  needIds: readonly string[],
  threshold: number,
): Promise<Map<string, string[]>> {
  const bySite = new Map<string, string[]>();
  if (needIds.length === 0) return bySite;
  const rows = await db
    .selectFrom('need_match')
    .select(['need_id', 'site_id'])
    .distinct()
    .where('need_id', 'in', needIds)
    .where('score', '>=', threshold)
    .orderBy('site_id')
    .execute();
  for (const row of rows) bySite.set(row.need_id, [...(bySite.get(row.need_id) ?? []), row.site_id]);
  return bySite;
}
