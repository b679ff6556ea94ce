import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuditEntry } from '../../protocol/audit-chain.ts';
import type { AuditEntryTable, HubDatabase, PendingAuditEvent } from '../db/schema.ts';

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

/** Serializes chainers (one chain, one head) until the transaction ends. */
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

// 11 parameters a row; PostgreSQL takes at most 65,535 in one statement.
const INSERT_CHUNK = 2000;

export async function insertAuditEntries(db: Kysely<HubDatabase>, entries: AuditEntry[]): Promise<void> {
  for (let i = 0; i < entries.length; i += INSERT_CHUNK) {
    await insertAuditChunk(db, entries.slice(i, i + INSERT_CHUNK));
  }
}

async function insertAuditChunk(db: Kysely<HubDatabase>, entries: AuditEntry[]): Promise<void> {
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

/** Queues one transaction's events, in order, for the chainer. */
export async function insertPendingEvents(
  db: Kysely<HubDatabase>,
  events: PendingAuditEvent[],
): Promise<void> {
  await db
    .insertInto('audit_pending')
    .values({ events: JSON.stringify(events) })
    .execute();
}

/** Whether any committed batch waits (one cheap read, without the chain lock). */
export async function anyPendingBatch(db: Kysely<HubDatabase>): Promise<boolean> {
  return (await db.selectFrom('audit_pending').select('id').limit(1).executeTakeFirst()) !== undefined;
}

/** The oldest committed batches of pending events. */
export async function pendingBatches(
  db: Kysely<HubDatabase>,
  limit: number,
): Promise<{ id: number; events: PendingAuditEvent[] }[]> {
  const rows = await db.selectFrom('audit_pending').selectAll().orderBy('id').limit(limit).execute();
  return rows.map((row) => ({ id: Number(row.id), events: row.events }));
}

export async function deletePendingBatches(db: Kysely<HubDatabase>, ids: readonly number[]): Promise<void> {
  if (ids.length > 0) await db.deleteFrom('audit_pending').where('id', 'in', ids).execute();
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
