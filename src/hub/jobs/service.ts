/**
 * Tasks: what the hub asks a site to do. Each task is signed by the hub, stored durably,
 * handed out on the site's long-poll and closed by the site's signed result.
 */
import { randomUUID } from 'node:crypto';
import { ItdaError } from '../../protocol/errors.ts';
import type { SignedPermit } from '../../protocol/permit.ts';
import { signValue } from '../../protocol/signing.ts';
import type { SignedTask, TaskBody, TaskKind, TaskPollReply, TaskResult } from '../../protocol/wire.ts';
import { revokedPermitIds } from '../access/store.ts';
import { type Actor, audit, SYSTEM } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import { markSiteSeen } from '../sites/service.ts';
import { findSite } from '../sites/store.ts';
import { claimTasks, completeTask, findTask, insertTask, type TaskRow } from './store.ts';

export const MAX_POLL_WAIT_SECONDS = 60;
/** A delivered task with no result after this long is handed out again. */
export const REDELIVER_AFTER_MS = 5 * 60_000;
/** Re-read the database this often while a poll waits (covers other hub processes). */
const RECHECK_MS = 5_000;

export interface TaskView {
  id: string;
  siteId: string;
  type: string;
  permitId: string | null;
  status: TaskRow['status'];
  createdAt: string;
  expiresAt: string;
  deliveredAt: string | null;
  completedAt: string | null;
  result: unknown;
  error: { code: string; message: string } | null;
}

export function viewTask(row: TaskRow): TaskView {
  return {
    id: row.id,
    siteId: row.site_id,
    type: row.type,
    permitId: row.permit_id,
    status: row.status,
    createdAt: row.created_at.toISOString(),
    expiresAt: row.expires_at.toISOString(),
    deliveredAt: row.delivered_at?.toISOString() ?? null,
    completedAt: row.completed_at?.toISOString() ?? null,
    result: row.result ?? null,
    error: row.error ?? null,
  };
}

export async function enqueueTask(
  ctx: HubContext,
  siteId: string,
  kind: TaskKind,
  options: {
    actor?: Actor;
    permitId?: string | null;
    /** The signed permit the task runs under; the site verifies it (and permitId becomes its id). */
    permit?: SignedPermit;
    ttlSeconds?: number;
  } = {},
): Promise<TaskView> {
  const site = await findSite(ctx.db, siteId);
  if (!site) throw new ItdaError('not_found', `no site ${siteId}`);
  if (site.status !== 'approved') throw new ItdaError('conflict', `site ${siteId} is ${site.status}`);
  const issuedAt = new Date();
  const expiresAt = new Date(issuedAt.getTime() + (options.ttlSeconds ?? 3600) * 1000);
  const body = {
    ...kind,
    id: randomUUID(),
    siteId,
    permitId: options.permit?.body.permitId ?? options.permitId ?? null,
    ...(options.permit ? { permit: options.permit } : {}),
    issuedAt: issuedAt.toISOString(),
    expiresAt: expiresAt.toISOString(),
  } satisfies TaskBody;
  const signed: SignedTask = signValue(ctx.keys.privateKey, ctx.keys.publicKey, body);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertTask(trx, {
      id: body.id,
      siteId,
      type: kind.type,
      permitId: body.permitId,
      signed,
      expiresAt,
    });
    await audit(
      ctx,
      {
        ...(options.actor ?? SYSTEM),
        action: 'task.send',
        targetType: 'task',
        targetId: body.id,
        details: { siteId, type: kind.type, permitId: body.permitId },
      },
      trx,
    );
    return inserted;
  });
  ctx.tasks.notify(siteId);
  return viewTask(row);
}

/** Long-poll: returns the site's tasks as soon as there are some, or none after `waitSeconds`. */
export async function pollTasks(
  ctx: HubContext,
  siteId: string,
  waitSeconds: number,
  signal?: AbortSignal,
): Promise<SignedTask[]> {
  const deadline = Date.now() + Math.min(waitSeconds, MAX_POLL_WAIT_SECONDS) * 1000;
  ctx.activePolls.set(siteId, (ctx.activePolls.get(siteId) ?? 0) + 1);
  try {
    for (;;) {
      const now = new Date();
      const rows = await claimTasks(ctx.db, siteId, now, new Date(now.getTime() - REDELIVER_AFTER_MS));
      if (rows.length > 0) return rows.map((r) => r.signed as SignedTask);
      const left = deadline - Date.now();
      if (left <= 0 || signal?.aborted) return [];
      await ctx.tasks.wait(siteId, Math.min(left, RECHECK_MS), signal);
    }
  } finally {
    const open = (ctx.activePolls.get(siteId) ?? 1) - 1;
    if (open > 0) ctx.activePolls.set(siteId, open);
    else ctx.activePolls.delete(siteId);
    if (!ctx.shutdown.aborted) await markSiteSeen(ctx, siteId);
  }
}

/**
 * A site's poll reply: its tasks, and the ids of revoked permits that name it, so a
 * revocation reaches the site on its next poll.
 */
export async function pollSite(
  ctx: HubContext,
  siteId: string,
  waitSeconds: number,
  signal?: AbortSignal,
): Promise<TaskPollReply> {
  const tasks = await pollTasks(ctx, siteId, waitSeconds, signal);
  return { tasks, revokedPermitIds: await revokedPermitIds(ctx.db, siteId, new Date()) };
}

export async function recordTaskResult(
  ctx: HubContext,
  siteId: string,
  taskId: string,
  result: TaskResult,
): Promise<TaskView> {
  const task = await findTask(ctx.db, taskId);
  // A site asking about another site's task learns nothing about whether it exists.
  if (!task || task.site_id !== siteId)
    throw new ItdaError('not_found', `no task ${taskId} for site ${siteId}`);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const completed = await completeTask(trx, taskId, result.outcome, result.result, result.error);
    if (!completed) throw new ItdaError('conflict', `task ${taskId} is already ${task.status}`);
    await audit(
      ctx,
      {
        actorType: 'site',
        actorId: siteId,
        action: 'task.result',
        targetType: 'task',
        targetId: taskId,
        details: { outcome: result.outcome, ...(result.error ? { error: result.error.code } : {}) },
      },
      trx,
    );
    return completed;
  });
  ctx.tasks.notify(`result:${taskId}`);
  ctx.log.info({ taskId, siteId, outcome: result.outcome }, 'task result received');
  return viewTask(row);
}

export async function getTask(ctx: HubContext, taskId: string): Promise<TaskView> {
  const task = await findTask(ctx.db, taskId);
  if (!task) throw new ItdaError('not_found', `no task ${taskId}`);
  return viewTask(task);
}

const FINISHED = new Set(['done', 'refused', 'failed', 'expired']);

/** Waits up to `waitSeconds` for a task to finish; returns its state either way. */
export async function awaitTask(ctx: HubContext, taskId: string, waitSeconds: number): Promise<TaskView> {
  const deadline = Date.now() + Math.min(waitSeconds, MAX_POLL_WAIT_SECONDS) * 1000;
  for (;;) {
    const task = await getTask(ctx, taskId);
    const left = deadline - Date.now();
    if (FINISHED.has(task.status) || left <= 0) return task;
    await ctx.tasks.wait(`result:${taskId}`, Math.min(left, 1000));
  }
}
