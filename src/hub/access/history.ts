/**
 * An application's history for its readers: the audit log's entries about the
 * application (creation, edits, uploads, state changes), oldest first. Who may read it is
 * the same as who may read the application (service.ts getApplication decides).
 */
import type { HistoryEvent } from '../../protocol/access.ts';
import type { AuditEntry } from '../../protocol/audit-chain.ts';
import { flushAudit } from '../audit/service.ts';
import { auditPage } from '../audit/store.ts';
import type { HubContext } from '../context.ts';
import { type AccessUser, getApplication } from './service.ts';

const PAGE = 1000;
/** An application with more events than this shows its first ones; autosave makes many edits. */
const MAX_EVENTS = 5000;

function toEvent(entry: AuditEntry): HistoryEvent {
  const d = entry.details as Record<string, unknown>;
  const event: HistoryEvent = {
    seq: entry.seq,
    at: entry.at,
    action: entry.action,
    actorType: entry.actorType,
    actorId: entry.actorId,
  };
  if (typeof d.from === 'string') event.from = d.from;
  if (typeof d.to === 'string') event.to = d.to;
  if (typeof d.round === 'number') event.round = d.round;
  if (Array.isArray(d.fields)) event.fields = d.fields.map(String);
  if (entry.action === 'attachment.upload')
    event.attachment = { kind: String(d.kind), sha256: String(d.sha256), size: Number(d.size) };
  return event;
}

/**
 * The application's timeline from the hash-chained audit log. Downloads are left out
 * (they say who read what, which is the DRB's and the operator's business).
 */
export async function applicationHistory(
  ctx: HubContext,
  user: AccessUser,
  id: string,
): Promise<HistoryEvent[]> {
  await getApplication(ctx, user, id);
  await flushAudit(ctx);
  const events: HistoryEvent[] = [];
  let after = 0;
  while (events.length < MAX_EVENTS) {
    const page = await auditPage(ctx.db, after, PAGE, { targetType: 'application', targetId: id });
    for (const entry of page) if (entry.action !== 'attachment.download') events.push(toEvent(entry));
    if (page.length < PAGE) break;
    after = page.at(-1)!.seq;
  }
  return events.slice(0, MAX_EVENTS);
}
