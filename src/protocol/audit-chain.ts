/**
 * A tamper-evident log: each entry carries the hash of the one before it and the
 * signature of its own hash. Editing, removing or reordering any entry breaks the chain
 * at that entry, and verification names the first one that is wrong. Used by the hub's
 * audit log and by each site's local log of executed tasks.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { sha256Hex, signString, verifyString } from './signing.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEvent {
  actorType: 'user' | 'site' | 'system' | 'api_key';
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  details: Record<string, unknown>;
}

export interface AuditEntry extends AuditEvent {
  seq: number;
  at: string;
  prevHash: string;
  hash: string;
  signature: string;
}

export function entryHash(entry: Omit<AuditEntry, 'hash' | 'signature'>): string {
  return sha256Hex(
    canonicalJson({
      seq: entry.seq,
      at: entry.at,
      actorType: entry.actorType,
      actorId: entry.actorId,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      details: entry.details,
      prevHash: entry.prevHash,
    }),
  );
}

/** Builds the entry that follows `previous` (or starts the chain). */
export function chainEntry(
  previous: Pick<AuditEntry, 'seq' | 'hash'> | undefined,
  event: AuditEvent,
  privateKey: KeyObject,
  at: Date = new Date(),
): AuditEntry {
  const base = {
    ...event,
    seq: (previous?.seq ?? 0) + 1,
    at: at.toISOString(),
    prevHash: previous?.hash ?? GENESIS_HASH,
  };
  const hash = entryHash(base);
  return { ...base, hash, signature: signString(privateKey, hash) };
}

export type ChainVerdict =
  | { ok: true; entries: number; headHash: string }
  | { ok: false; entries: number; firstBadSeq: number; position: number; reason: string };

/**
 * Walks the chain in order. `position` is the 0-based index of the first bad entry in
 * `entries`; `firstBadSeq` is the sequence number it claims. `after` continues a chain
 * verified earlier (reading a long log page by page).
 */
export function verifyChain(
  entries: readonly AuditEntry[],
  publicKey: string,
  after?: Pick<AuditEntry, 'seq' | 'hash'>,
): ChainVerdict {
  let previous: Pick<AuditEntry, 'seq' | 'hash'> | undefined = after;
  for (const [position, entry] of entries.entries()) {
    const bad = (reason: string): ChainVerdict => ({
      ok: false,
      entries: entries.length,
      firstBadSeq: entry.seq,
      position,
      reason,
    });
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (entry.seq !== expectedSeq) {
      return bad(`sequence ${entry.seq} where ${expectedSeq} was expected (an entry was removed or moved)`);
    }
    if (entry.prevHash !== (previous?.hash ?? GENESIS_HASH)) {
      return bad('does not link to the entry before it (entries removed or reordered)');
    }
    if (entryHash(entry) !== entry.hash) return bad('content does not match its hash (the entry was edited)');
    if (!verifyString(publicKey, entry.hash, entry.signature)) return bad('signature does not verify');
    previous = entry;
  }
  return { ok: true, entries: entries.length, headHash: previous?.hash ?? GENESIS_HASH };
}
