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
import type { HubDatabase } from '../db/schema.ts';
import { auditHead, auditPage, insertAuditEntry, lockAuditHead } from './store.ts';

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
 */
export async function audit(
  ctx: HubContext,
  input: AuditInput,
  trx?: Kysely<HubDatabase>,
): Promise<AuditEntry> {
  const event: AuditEvent = {
    actorType: input.actorType,
    actorId: input.actorId ?? null,
    action: input.action,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    details: input.details ?? {},
  };
  const append = async (db: Kysely<HubDatabase>) => {
    await lockAuditHead(db);
    const entry = chainEntry(await auditHead(db), event, ctx.keys.privateKey);
    await insertAuditEntry(db, entry);
    return entry;
  };
  return trx ? append(trx) : ctx.db.transaction().execute(append);
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
