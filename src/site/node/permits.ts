/**
 * The site's own check of a permit, on every task that runs under one: signed by the
 * pinned hub key, naming this site, allowing the task's type, valid now, for the same
 * cohort, and not revoked. The hub is not trusted to have checked.
 *
 * Revocations arrive with the hub's poll replies and are kept in DIR/revoked-permits.json
 * so a restarted site still refuses a revoked permit while the hub is unreachable.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { cohortHash, type PermitBody, permitBodySchema, type SignedPermit } from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { keyFingerprint, verifyValue } from '../../protocol/signing.ts';
import type { TaskBody } from '../../protocol/wire.ts';

export const REVOKED_PERMITS_FILE = 'revoked-permits.json';

/** Task types that never run without a permit. */
export const PERMIT_REQUIRED_TASKS: ReadonlySet<string> = new Set(['cohort_count']);

export interface PermitCheck {
  hubPublicKey: string;
  siteId: string;
  isRevoked(permitId: string): boolean;
  now?: Date;
}

/** The cohort a task runs on, when it names one, as the permit's hash would state it. */
function taskCohortHash(task: TaskBody): string | undefined {
  return task.type === 'cohort_count' ? cohortHash(task.payload.cohort) : undefined;
}

/**
 * Verifies the permit a task runs under (if any) and returns its body; throws
 * `permit_invalid` or `permit_expired` naming what is wrong.
 */
export function verifyTaskPermit(task: TaskBody, check: PermitCheck): PermitBody | undefined {
  if (task.permitId === null) {
    if (PERMIT_REQUIRED_TASKS.has(task.type))
      throw new ItdaError('permit_invalid', `a ${task.type} task runs only under a permit`);
    return undefined;
  }
  if (!task.permit)
    throw new ItdaError('permit_invalid', `task names permit ${task.permitId} but carries none`);
  const permit = verifyPermit(task.permit, check);
  if (permit.permitId !== task.permitId)
    throw new ItdaError(
      'permit_invalid',
      `task names permit ${task.permitId} but carries ${permit.permitId}`,
    );
  if (!permit.allowedAnalyses.includes(task.type))
    throw new ItdaError(
      'permit_invalid',
      `permit ${permit.permitId} allows ${permit.allowedAnalyses.join(', ')}, not ${task.type}`,
    );
  const hash = taskCohortHash(task);
  if (hash !== undefined && hash !== permit.cohortHash)
    throw new ItdaError(
      'permit_invalid',
      `the task's cohort is not the cohort permit ${permit.permitId} allows`,
    );
  return permit;
}

/** Signature, addressee, validity window and revocation of one permit. */
export function verifyPermit(signed: SignedPermit, check: PermitCheck): PermitBody {
  if (signed.keyId !== keyFingerprint(check.hubPublicKey) || !verifyValue(check.hubPublicKey, signed))
    throw new ItdaError('permit_invalid', 'permit signature does not verify against the pinned hub key');
  const parsed = permitBodySchema.safeParse(signed.body);
  if (!parsed.success)
    throw new ItdaError('permit_invalid', `permit is malformed: ${parsed.error.issues[0]?.message}`);
  const permit = parsed.data;
  if (!permit.sites.includes(check.siteId))
    throw new ItdaError('permit_invalid', `permit ${permit.permitId} does not name site ${check.siteId}`);
  if (check.isRevoked(permit.permitId))
    throw new ItdaError('permit_invalid', `permit ${permit.permitId} has been revoked`);
  const now = (check.now ?? new Date()).getTime();
  if (now < Date.parse(permit.notBefore))
    throw new ItdaError(
      'permit_invalid',
      `permit ${permit.permitId} is not valid before ${permit.notBefore}`,
    );
  if (now >= Date.parse(permit.notAfter))
    throw new ItdaError('permit_expired', `permit ${permit.permitId} expired at ${permit.notAfter}`);
  return permit;
}

/** Revoked permit ids, kept on disk under the site directory. */
export class RevocationList {
  private constructor(
    private readonly file: string,
    private readonly ids: Set<string>,
    /** False after an unreadable file was set aside: every permit counts as revoked until the hub's list arrives. */
    private complete: boolean,
  ) {}

  /**
   * Reads the list. An unreadable file is moved aside (`.corrupt-<time>`), not fatal:
   * until the next poll reply brings the hub's list, every permit counts as revoked.
   */
  static async open(dir: string, onCorrupt?: (message: string) => void): Promise<RevocationList> {
    const file = path.join(dir, REVOKED_PERMITS_FILE);
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return new RevocationList(file, new Set(), true);
      throw error;
    }
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((id) => typeof id === 'string'))
        return new RevocationList(file, new Set(parsed), true);
    } catch {}
    const aside = `${file}.corrupt-${Date.now()}`;
    await fs.rename(file, aside);
    onCorrupt?.(
      `${file}: not a JSON array of permit ids; moved to ${aside}, permits refused until the hub's list arrives`,
    );
    return new RevocationList(file, new Set(), false);
  }

  has(permitId: string): boolean {
    return !this.complete || this.ids.has(permitId);
  }

  /**
   * Adds the revoked ids of a poll reply (the hub sends all that name this site, so the
   * list is complete again); revocation is permanent. Writes only when something is new.
   */
  async add(permitIds: readonly string[]): Promise<number> {
    const fresh = permitIds.filter((id) => !this.ids.has(id));
    const wasComplete = this.complete;
    this.complete = true;
    if (fresh.length === 0 && wasComplete) return 0;
    for (const id of fresh) this.ids.add(id);
    // Write then rename, so a crash never leaves half a list.
    const temp = `${this.file}.${process.pid}.tmp`;
    await fs.writeFile(temp, JSON.stringify([...this.ids].sort()), { mode: 0o600 });
    await fs.rename(temp, this.file);
    return fresh.length;
  }
}
