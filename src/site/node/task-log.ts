/**
 * The site's own record of every task it was handed and what it did, hash-chained and
 * signed with the site key like the hub's audit log. It lives beside the site's data
 * (DIR/task-log.jsonl), so the hospital can show what left it without asking the hub.
 */
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  type AuditEntry,
  type AuditEvent,
  type ChainVerdict,
  chainEntry,
  verifyChain,
} from '../../protocol/audit-chain.ts';
import { ItdaError } from '../../protocol/errors.ts';

export const TASK_LOG_FILE = 'task-log.jsonl';

export async function readTaskLog(dir: string): Promise<AuditEntry[]> {
  const file = path.join(dir, TASK_LOG_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as AuditEntry;
      } catch {
        throw new ItdaError('validation_failed', `${file}:${index + 1}: not a JSON log entry`);
      }
    });
}

export class TaskLog {
  private head: Pick<AuditEntry, 'seq' | 'hash'> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly file: string,
    private readonly key: KeyObject,
  ) {}

  static async open(dir: string, key: KeyObject): Promise<TaskLog> {
    const log = new TaskLog(path.join(dir, TASK_LOG_FILE), key);
    log.head = (await readTaskLog(dir)).at(-1);
    return log;
  }

  /** Appends one entry; appends are serialized and each is flushed to disk. */
  append(
    event: Omit<AuditEvent, 'actorType' | 'actorId'> & { actorId?: string | null },
  ): Promise<AuditEntry> {
    const next = this.queue.then(async () => {
      const entry = chainEntry(
        this.head,
        { actorType: 'site', actorId: event.actorId ?? null, ...event },
        this.key,
      );
      const handle = await fs.open(this.file, 'a', 0o600);
      try {
        await handle.write(`${JSON.stringify(entry)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      this.head = entry;
      return entry;
    });
    this.queue = next.catch(() => {});
    return next;
  }
}

export async function verifyTaskLog(dir: string, sitePublicKey: string): Promise<ChainVerdict> {
  return verifyChain(await readTaskLog(dir), sitePublicKey);
}
