/**
 * The hub's audit log: every login, state change, vote, permit, task and data access is
 * appended to one hash chain signed with the hub key (see protocol/audit-chain.ts).
 */
import type { KeyObject } from 'node:crypto';
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
import type { HubDatabase, PendingAuditEvent } from '../db/schema.ts';
import {
  anyPendingBatch,
  auditHead,
  auditPage,
  deletePendingBatches,
  insertAuditEntries,
  insertPendingEvents,
  lockAuditHead,
  pendingBatches,
} from './store.ts';

/** Who did something, as the audit log records it. */
export interface Actor {
  actorType: AuditEvent['actorType'];
  actorId: string | null;
}

export const SYSTEM: Actor = { actorType: 'system', actorId: null };

export type AuditInput = Omit<AuditEvent, 'details' | 'targetType' | 'targetId' | 'actorId'> &
  Partial<Pick<AuditEvent, 'details' | 'targetType' | 'targetId' | 'actorId'>>;

/**
 * Records one event. Pass `trx` to make it part of the change it records, so a rolled-back
 * change leaves no entry and a committed one always has its entry.
 *
 * Entries are not chained by the writer. A transaction's events are queued and written as
 * one pending batch right before it commits (see `onBeforeCommit`); once it has committed,
 * the chainer links every committed batch onto the chain under the chain lock, many
 * transactions at a time. Writers thus never wait for each other on the chain: at 150
 * writes at once, taking turns to lock, append and commit made them queue for most of a
 * second. Events keep their own time and, within a transaction, their order.
 */
export async function audit(ctx: HubContext, input: AuditInput, trx?: Kysely<HubDatabase>): Promise<void> {
  const event: PendingAuditEvent = {
    at: new Date().toISOString(),
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
  const queued = pendingEvents.get(trx);
  if (queued) {
    queued.push(event);
    return;
  }
  const events = [event];
  const chainer = auditChainer(ctx);
  const deferred = onBeforeCommit(trx, async () => {
    pendingEvents.delete(trx);
    await insertPendingEvents(trx, events);
    return (committed: boolean) => {
      if (committed) chainer.kick();
    };
  });
  if (deferred) pendingEvents.set(trx, events);
  // A transaction opened outside the hub database has no commit hook: queue at once; the
  // chainer's sweep links it once it has committed.
  else await insertPendingEvents(trx, events);
}

/** Events queued per open transaction, written by its before-commit hook. */
const pendingEvents = new WeakMap<Kysely<HubDatabase>, PendingAuditEvent[]>();

const BATCHES_PER_CHAIN = 500;
/** How often the chainer looks for batches nobody told it about (another process, a restart). */
const SWEEP_MS = 1000;

/**
 * Links every committed pending batch onto the chain, oldest first, under the chain lock
 * (which also serializes against other processes on the same database); returns how many
 * entries it chained. The batches are deleted in the same transaction, so each is chained
 * exactly once.
 */
export async function chainPendingAudit(db: Kysely<HubDatabase>, privateKey: KeyObject): Promise<number> {
  // The sweep asks every second; an idle log costs one read, not a locked transaction.
  if (!(await anyPendingBatch(db))) return 0;
  let chained = 0;
  for (;;) {
    const { batches, entries } = await db.transaction().execute(async (trx) => {
      await lockAuditHead(trx);
      const pending = await pendingBatches(trx, BATCHES_PER_CHAIN);
      if (pending.length === 0) return { batches: 0, entries: 0 };
      let previous = await auditHead(trx);
      const linked: AuditEntry[] = [];
      for (const batch of pending)
        for (const { at, ...event } of batch.events) {
          const entry = chainEntry(previous, event as AuditEvent, privateKey, new Date(at));
          linked.push(entry);
          previous = entry;
        }
      await insertAuditEntries(trx, linked);
      await deletePendingBatches(
        trx,
        pending.map((batch) => batch.id),
      );
      return { batches: pending.length, entries: linked.length };
    });
    chained += entries;
    if (batches < BATCHES_PER_CHAIN) return chained;
  }
}

/**
 * One chainer per database in this process: `kick` after a commit starts a run (or one more
 * after the current, so a burst of commits is chained in a few runs), a sweep catches the
 * rest, and `flush` waits until what this process wrote is chained.
 */
class AuditChainer {
  private running: Promise<void> | undefined;
  private again = false;
  /** Batches this process committed that no run has started on yet. */
  private dirty = false;
  /** Runs started and finished; a flush waits for the run after the current one only. */
  private started = 0;
  private waiters: { run: number; resolve: () => void }[] = [];
  private readonly sweep: NodeJS.Timeout;

  constructor(private readonly ctx: HubContext) {
    this.sweep = setInterval(() => this.kick(false), SWEEP_MS);
    this.sweep.unref();
  }

  kick(committedHere = true): void {
    if (committedHere) this.dirty = true;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      this.dirty = false;
      const run = ++this.started;
      try {
        await chainPendingAudit(this.ctx.db, this.ctx.keys.privateKey);
      } catch (error) {
        this.dirty = true;
        this.ctx.log.warn({ err: error }, 'audit chaining failed; retrying on the next commit or sweep');
      }
      const done = this.waiters.filter((w) => w.run <= run);
      this.waiters = this.waiters.filter((w) => w.run > run);
      for (const waiter of done) waiter.resolve();
    } while (this.again);
  }

  /**
   * Returns once what this process committed before the call is chained. While runs go on
   * back to back under load, it waits for the next one to finish (that run reads every batch
   * committed before it starts), not for the commits to stop.
   */
  async flush(): Promise<void> {
    if (this.running) {
      const run = this.started + 1;
      this.again = true;
      await new Promise<void>((resolve) => this.waiters.push({ run, resolve }));
      return;
    }
    if (!this.dirty) return;
    this.dirty = false;
    await chainPendingAudit(this.ctx.db, this.ctx.keys.privateKey);
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    while (this.running) await this.running;
    await chainPendingAudit(this.ctx.db, this.ctx.keys.privateKey);
  }
}

const chainers = new WeakMap<Kysely<HubDatabase>, AuditChainer>();

function auditChainer(ctx: HubContext): AuditChainer {
  let chainer = chainers.get(ctx.db);
  if (!chainer) {
    chainer = new AuditChainer(ctx);
    chainers.set(ctx.db, chainer);
  }
  return chainer;
}

/** Waits until every entry this process recorded is on the chain (readers call it first). */
export async function flushAudit(ctx: HubContext): Promise<void> {
  await chainers.get(ctx.db)?.flush();
}

/** Stops the sweep and chains what is left (the hub calls it before closing the database). */
export async function closeAudit(ctx: HubContext): Promise<void> {
  const chainer = chainers.get(ctx.db);
  chainers.delete(ctx.db);
  await chainer?.close();
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

export async function listAudit(
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
  await flushAudit(ctx);
  return auditPage(ctx.db, options.afterSeq ?? 0, Math.min(options.limit ?? 100, 1000), options);
}
