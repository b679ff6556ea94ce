import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuditEntry } from '../../protocol/audit-chain.ts';
import type { AuditEntryTable, HubDatabase } from '../db/schema.ts';

type AuditRow = Selectable<AuditEntryTable>;

function toEntry(row: AuditRow): AuditEntry {
  return {
    seq: Number(row.seq),
    at: row.at,
    actorType: row.actor_type as AuditEntry['actorType'],
    actorId: row.actor_id,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    details: row.details,
    prevHash: row.prev_hash,
    hash: row.hash,
    signature: row.signature,
  };
}

/** Serializes appenders (one chain, one head) until the transaction ends; take it last. */
export async function lockAuditHead(db: Kysely<HubDatabase>): Promise<void> {
  await sql`select pg_advisory_xact_lock(4243)`.execute(db);
}

export async function auditHead(
  db: Kysely<HubDatabase>,
): Promise<Pick<AuditEntry, 'seq' | 'hash'> | undefined> {
  const row = await db
    .selectFrom('audit_entry')
    .select(['seq', 'hash'])
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { seq: Number(row.seq), hash: row.hash } : undefined;
}

export async function insertAuditEntries(db: Kysely<HubDatabase>, entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insertInto('audit_entry')
    .values(
      entries.map((entry) => ({
        seq: entry.seq,
        at: entry.at,
        actor_type: entry.actorType,
        actor_id: entry.actorId,
        action: entry.action,
        target_type: entry.targetType,
        target_id: entry.targetId,
        details: JSON.stringify(entry.details),
        prev_hash: entry.prevHash,
        hash: entry.hash,
        signature: entry.signature,
      })),
    )
    .execute();
}

/**
 * Inserts `entries` only if the chain still ends at `headSeq` (no one else appended since
 * the caller last saw it); false when it did not, and nothing was inserted.
 */
export async function insertAuditEntriesAfter(
  db: Kysely<HubDatabase>,
  entries: AuditEntry[],
  headSeq: number,
): Promise<boolean> {
  const rows = entries.map(
    (e) =>
      sql`(${e.seq}::bigint, ${e.at}, ${e.actorType}, ${e.actorId}::text, ${e.action}, ${e.targetType}::text, ${e.targetId}::text, ${JSON.stringify(e.details)}::json, ${e.prevHash}, ${e.hash}, ${e.signature})`,
  );
  const result = await sql`
    insert into audit_entry (seq, at, actor_type, actor_id, action, target_type, target_id, details, prev_hash, hash, signature)
    select * from (values ${sql.join(rows)}) as entry
    where not exists (select 1 from audit_entry where seq > ${headSeq})`.execute(db);
  return Number(result.numAffectedRows ?? 0) === entries.length;
}

/** Entries in stored sequence order, a page at a time. */
export async function auditPage(
  db: Kysely<HubDatabase>,
  afterSeq: number,
  limit: number,
  filter: { targetType?: string; targetId?: string; action?: string; actorId?: string } = {},
): Promise<AuditEntry[]> {
  let query = db.selectFrom('audit_entry').selectAll().where('seq', '>', afterSeq);
  if (filter.targetType) query = query.where('target_type', '=', filter.targetType);
  if (filter.targetId) query = query.where('target_id', '=', filter.targetId);
  if (filter.action) query = query.where('action', 'like', `${filter.action}%`);
  if (filter.actorId) query = query.where('actor_id', '=', filter.actorId);
  const rows = await query.orderBy('seq').limit(limit).execute();
  return rows.map(toEntry);
}
