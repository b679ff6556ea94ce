import { type Kysely, type Selectable, sql } from 'kysely';
import type { HubDatabase, SiteTable } from '../db/schema.ts';

export type SiteRow = Selectable<SiteTable>;

export function findSite(db: Kysely<HubDatabase>, id: string): Promise<SiteRow | undefined> {
  return db.selectFrom('site').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findSites(db: Kysely<HubDatabase>, ids: readonly string[]): Promise<SiteRow[]> {
  if (ids.length === 0) return Promise.resolve([]);
  return db.selectFrom('site').selectAll().where('id', 'in', ids).execute();
}

export function findSiteByKey(db: Kysely<HubDatabase>, publicKey: string): Promise<SiteRow | undefined> {
  return db.selectFrom('site').selectAll().where('public_key', '=', publicKey).executeTakeFirst();
}

export function listSites(db: Kysely<HubDatabase>): Promise<SiteRow[]> {
  return db.selectFrom('site').selectAll().orderBy('id').execute();
}

export async function insertSite(
  db: Kysely<HubDatabase>,
  site: { id: string; name: string; publicKey: string; software: string; approved: boolean },
): Promise<SiteRow> {
  return db
    .insertInto('site')
    .values({
      id: site.id,
      name: site.name,
      public_key: site.publicKey,
      software: site.software,
      status: site.approved ? 'approved' : 'pending',
      approved_at: site.approved ? new Date() : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateSiteOnReregistration(
  db: Kysely<HubDatabase>,
  id: string,
  changes: { name: string; software: string; approve: boolean },
): Promise<SiteRow> {
  return db
    .updateTable('site')
    .set((eb) => ({
      name: changes.name,
      software: changes.software,
      status: changes.approve
        ? sql<'approved'>`case when status = 'pending' then 'approved' else status end`
        : eb.ref('status'),
      approved_at: changes.approve ? sql<Date>`coalesce(approved_at, now())` : eb.ref('approved_at'),
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function setSiteStatus(
  db: Kysely<HubDatabase>,
  id: string,
  status: SiteTable['status'],
): Promise<void> {
  await db
    .updateTable('site')
    .set({ status, approved_at: status === 'approved' ? new Date() : null })
    .where('id', '=', id)
    .execute();
}

export async function touchSite(db: Kysely<HubDatabase>, id: string): Promise<void> {
  await db.updateTable('site').set({ last_seen_at: new Date() }).where('id', '=', id).execute();
}

/** Records a nonce; false when the site already used it (a replay). */
export async function rememberNonce(
  db: Kysely<HubDatabase>,
  siteId: string,
  nonce: string,
): Promise<boolean> {
  const inserted = await db
    .insertInto('site_nonce')
    .values({ site_id: siteId, nonce, seen_at: new Date() })
    .onConflict((oc) => oc.doNothing())
    .returning('nonce')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function forgetNoncesBefore(db: Kysely<HubDatabase>, before: Date): Promise<void> {
  await db.deleteFrom('site_nonce').where('seen_at', '<', before).execute();
}
