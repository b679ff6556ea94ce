/**
 * The hub's audit log: every login, state change, vote, permit, task and data access is
 * appended to one hash chain signed with the hub key (see protocol/audit-chain.ts).
 */
import type { Kysely } from 'kysely';
import {
  type AuditEntry,
  type AuditEvent,
  type ChainVerdict,
  chainEntry,
  GENESIS_HASH,
  verifyChain,
} from '../../protocol/audit-chain.ts';
import type { HubContext } from '../context.ts';
import { onBeforeCommit } from '../db/database.ts';
import type { HubDatabase } from '../db/schema.ts';
import { auditHead, auditPage, insertAuditEntries, lockAuditHead } from './store.ts';

/** Who did something, as the audit log records it. */
export interface Actor {
  actorType: AuditEvent['actorType'];
  actorId: string | null;
}

export const SYSTEM: Actor = { actorType: 'system', actorId: null };

export type AuditInput = Omit<AuditEvent, 'details' | 'targetType' | 'targetId' | 'actorId'> &
  Partial<Pick<AuditEvent, 'details' | 'targetType' | 'targetId' | 'actorId'>>;

/**
 * Appends one entry. Pass `trx` to make the entry part of the change it records, so a
 * rolled-back change leaves no entry and a committed one always has its entry.
 *
 * Inside a hub transaction the entry is only queued: the transaction's entries are
 * chained and inserted together right before it commits (see `onBeforeCommit`), so the
 * chain lock is held for the append and the commit alone and writers no longer queue
 * behind each other for the whole of their work. Entries keep the order in which their
 * transactions committed, which is the order the chain records.
 */
export async function audit(ctx: HubContext, input: AuditInput, trx?: Kysely<HubDatabase>): Promise<void> {
  const event: AuditEvent = {
    actorType: input.actorType,
    actorId: input.actorId ?? null,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    details: input.details ?? {},
  };
  if (!trx) {
    await ctx.db.transaction().execute((own) => appendEntries(ctx, own, [event]));
    return;
  }
  const queued = pendingEntries.get(trx);
  if (queued) {
    queued.push(event);
    return;
  }
  const events = [event];
  const deferred = onBeforeCommit(trx, async () => {
    pendingEntries.delete(trx);
    await appendEntries(ctx, trx, events);
  });
  if (deferred) pendingEntries.set(trx, events);
  // A transaction opened outside the hub database has no commit hook: append at once.
  else await appendEntries(ctx, trx, events);
}

/** Entries queued per open transaction, appended by its before-commit hook. */
const pendingEntries = new WeakMap<Kysely<HubDatabase>, AuditEvent[]>();

/** Takes the chain lock (held to commit), reads the head and appends `events` in order. */
async function appendEntries(ctx: HubContext, db: Kysely<HubDatabase>, events: AuditEvent[]): Promise<void> {
  await lockAuditHead(db);
  let head = await auditHead(db);
  const entries: AuditEntry[] = [];
  const at = new Date();
  for (const event of events) {
    const entry = chainEntry(head, event, ctx.keys.privateKey, at);
    entries.push(entry);
    head = entry;
  }
  await insertAuditEntries(db, entries);
}

const PAGE = 5000;

/** Reads the whole chain in pages (memory stays bounded by the page) and verifies it. */
export async function verifyAuditLog(db: Kysely<HubDatabase>, hubPublicKey: string): Promise<ChainVerdict> {
  let previous: AuditEntry | undefined;
  let count = 0;
  for (;;) {
    const page = await auditPage(db, previous?.seq ?? 0, PAGE);
    if (page.length === 0) break;
    const verdict = verifyChain(page, hubPublicKey, previous);
    if (!verdict.ok) return { ...verdict, position: count + verdict.position, entries: count + page.length };
    count += page.length;
    previous = page.at(-1);
  }
  return { ok: true, entries: count, headHash: previous?.hash ?? GENESIS_HASH };
}

export function listAudit(
  ctx: HubContext,
  options: {
    afterSeq?: number;
    limit?: number;
    targetType?: string;
    targetId?: string;
    action?: string;
    actorId?: string;
  },
): Promise<AuditEntry[]> {
  return auditPage(ctx.db, options.afterSeq ?? 0, Math.min(options.limit ?? 100, 1000), options);
}
