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
import { type AfterSettle, onBeforeCommit } from '../db/database.ts';
import type { HubDatabase } from '../db/schema.ts';
import { auditHead, auditPage, insertAuditEntries, insertAuditEntriesAfter, lockAuditHead } from './store.ts';

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
    await ctx.db.transaction().execute((own) => audit(ctx, input, own));
    return;
  }
  const queued = pendingEntries.get(trx);
  if (queued) {
    queued.push(event);
    return;
  }
  const events = [event];
  const deferred = onBeforeCommit(trx, () => {
    pendingEntries.delete(trx);
    return appendAtCommit(ctx, trx, events);
  });
  if (deferred) pendingEntries.set(trx, events);
  // A transaction opened outside the hub database has no commit hook: append at once.
  else await insertAuditEntries(trx, await chainAfterLockedHead(ctx, trx, events));
}

/** Entries queued per open transaction, appended by its before-commit hook. */
const pendingEntries = new WeakMap<Kysely<HubDatabase>, AuditEvent[]>();

/**
 * This process's appenders to one database take turns, and the turn remembers the head the
 * last one committed: the next appender then needs no head read, and the turn passes on
 * the moment a commit returns, so the chain's critical section is lock, insert, commit.
 */
interface ChainTail {
  turn: Promise<void>;
  head: Pick<AuditEntry, 'seq' | 'hash'> | undefined;
  headKnown: boolean;
}
const chainTails = new WeakMap<Kysely<HubDatabase>, ChainTail>();

async function appendAtCommit(
  ctx: HubContext,
  trx: Kysely<HubDatabase>,
  events: AuditEvent[],
): Promise<AfterSettle> {
  let tail = chainTails.get(ctx.db);
  if (!tail) {
    tail = { turn: Promise.resolve(), head: undefined, headKnown: false };
    chainTails.set(ctx.db, tail);
  }
  const mine = tail;
  const previous = mine.turn;
  let release!: () => void;
  mine.turn = new Promise((resolve) => {
    release = resolve;
  });
  await previous;
  try {
    // The database lock still serializes against other processes (the CLI) on the same chain.
    await lockAuditHead(trx);
    let entries = mine.headKnown ? chainOnto(ctx, mine.head, events) : undefined;
    if (!entries || !(await insertAuditEntriesAfter(trx, entries, mine.head?.seq ?? 0))) {
      // Unknown head, or another process appended since: read it under the lock.
      entries = chainOnto(ctx, await auditHead(trx), events);
      await insertAuditEntries(trx, entries);
    }
    const last = entries.at(-1)!;
    return (committed) => {
      mine.head = { seq: last.seq, hash: last.hash };
      mine.headKnown = committed;
      release();
    };
  } catch (error) {
    mine.headKnown = false;
    release();
    throw error;
  }
}

/** Takes the chain lock (held to commit), reads the head and chains `events` onto it. */
async function chainAfterLockedHead(
  ctx: HubContext,
  db: Kysely<HubDatabase>,
  events: AuditEvent[],
): Promise<AuditEntry[]> {
  await lockAuditHead(db);
  return chainOnto(ctx, await auditHead(db), events);
}

function chainOnto(
  ctx: HubContext,
  head: Pick<AuditEntry, 'seq' | 'hash'> | undefined,
  events: AuditEvent[],
): AuditEntry[] {
  const at = new Date();
  const entries: AuditEntry[] = [];
  let previous = head;
  for (const event of events) {
    const entry = chainEntry(previous, event, ctx.keys.privateKey, at);
    entries.push(entry);
    previous = entry;
  }
  return entries;
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
