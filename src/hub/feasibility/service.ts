/**
 * Federated feasibility: a researcher's Circe definition is validated, stored, sent as a
 * signed `feasibility` task to each chosen site, and the sites' disclosed answers are
 * gathered until every site answered or the query's timeout passed. A query settles
 * once: its per-site outcomes are frozen, the differencing defence runs, and only then
 * are counts shown. State lives in the database, so a hub restart resumes a query (the
 * sites' answers land in their tasks meanwhile). See README.md beside this file.
 */
import { randomUUID } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import { parseCohortExpression } from '../../cohort/expression.ts';
import { DISCLOSURE_DEFAULTS, releasedCountRange } from '../../privacy/disclosure.ts';
import { canonicalJson } from '../../protocol/canonical-json.ts';
import { ItdaError, isItdaError } from '../../protocol/errors.ts';
import {
  type FeasibilityCount,
  type FeasibilityQueryList,
  type FeasibilityQueryView,
  type FeasibilityRequest,
  type FeasibilitySiteAnswer,
  type FeasibilitySiteResult,
  type FeasibilitySiteStatus,
  type FeasibilityTotal,
  feasibilityRequestSchema,
  feasibilitySiteAnswerSchema,
  MAX_FEASIBILITY_WAIT_SECONDS,
} from '../../protocol/feasibility.ts';
import { sha256Hex } from '../../protocol/signing.ts';
import { audit } from '../audit/service.ts';
import type { HubContext } from '../context.ts';
import type { HubDatabase } from '../db/schema.ts';
import { enqueueTask } from '../jobs/service.ts';
import { listSites } from '../sites/store.ts';
import {
  type FeasibilityQueryRow,
  type FeasibilitySiteRow,
  findQuery,
  insertQuery,
  listQuerySites,
  listUserQueries,
  setSiteTask,
  settleQuery,
} from './store.ts';

/** Who asks: the signed-in user. */
export interface FeasibilityUser {
  id: string;
  roles: readonly string[];
}

/** Earlier queries within this window take part in the differencing defence. */
export const DIFFERENCING_WINDOW_MS = 24 * 60 * 60 * 1000;
/** A difference the answers pin to 1…this−1 persons is a differencing attempt. */
export const DIFFERENCING_MIN_PERSONS = 10;
/** Sites get this long beyond the query's timeout before their task expires (late answers are still recorded). */
const TASK_GRACE_SECONDS = 300;
const RECHECK_MS = 500;

type Problem = { code: string; message: string };

interface SiteOutcome {
  siteId: string;
  siteName: string;
  status: FeasibilitySiteStatus;
  answer: FeasibilitySiteAnswer | null;
  error: Problem | null;
  answeredAt: Date | null;
}

function definitionHash(definition: unknown): string {
  return sha256Hex(canonicalJson(definition));
}

/**
 * Submits a feasibility query. The definition is checked with the cohort engine first:
 * an unsupported or malformed part is refused (and audited) before any site is asked.
 */
export async function submitFeasibilityQuery(
  ctx: HubContext,
  user: FeasibilityUser,
  input: FeasibilityRequest,
): Promise<FeasibilityQueryView> {
  const request = feasibilityRequestSchema.parse(input);
  let inclusionRules: string[];
  try {
    const expression = parseCohortExpression(request.definition);
    inclusionRules = (expression.InclusionRules ?? []).map((rule, i) => rule.name ?? `Rule ${i + 1}`);
  } catch (error) {
    const problem = isItdaError(error) ? error : new ItdaError('validation_failed', String(error));
    await audit(ctx, {
      actorType: 'user',
      actorId: user.id,
      action: 'feasibility.refuse',
      targetType: 'feasibility_query',
      details: { reason: problem.code, message: problem.message, name: request.name ?? null },
    });
    throw problem;
  }
  const siteIds = await chooseSites(ctx, request.siteIds);
  const id = randomUUID();
  const createdAt = new Date();
  const deadline = new Date(createdAt.getTime() + request.timeoutSeconds * 1000);
  const hash = definitionHash(request.definition);
  await ctx.db.transaction().execute(async (trx) => {
    await insertQuery(trx, {
      id,
      userId: user.id,
      name: request.name ?? null,
      definition: request.definition,
      definitionHash: hash,
      inclusionRules,
      timeoutSeconds: request.timeoutSeconds,
      createdAt,
      deadline,
      siteIds,
    });
    await audit(
      ctx,
      {
        actorType: 'user',
        actorId: user.id,
        action: 'feasibility.submit',
        targetType: 'feasibility_query',
        targetId: id,
        details: {
          name: request.name ?? null,
          definitionHash: hash,
          siteIds,
          timeoutSeconds: request.timeoutSeconds,
        },
      },
      trx,
    );
  });
  for (const siteId of siteIds) {
    try {
      const task = await enqueueTask(
        ctx,
        siteId,
        { type: 'feasibility', payload: { queryId: id, definition: request.definition } },
        {
          actor: { actorType: 'user', actorId: user.id },
          ttlSeconds: request.timeoutSeconds + TASK_GRACE_SECONDS,
        },
      );
      await setSiteTask(ctx.db, id, siteId, { taskId: task.id });
    } catch (error) {
      const problem = isItdaError(error) ? error : new ItdaError('internal', 'the task could not be sent');
      ctx.log.warn({ queryId: id, siteId, err: problem.message }, 'feasibility task not sent');
      await setSiteTask(ctx.db, id, siteId, { error: { code: problem.code, message: problem.message } });
    }
  }
  return getFeasibilityQuery(ctx, user, id);
}

async function chooseSites(ctx: HubContext, requested: string[] | undefined): Promise<string[]> {
  const sites = await listSites(ctx.db);
  const approved = sites.filter((s) => s.status === 'approved').map((s) => s.id);
  if (!requested) {
    if (approved.length === 0) throw new ItdaError('conflict', 'no approved site to ask');
    return approved;
  }
  const unique = [...new Set(requested)];
  for (const siteId of unique) {
    const site = sites.find((s) => s.id === siteId);
    if (!site) throw new ItdaError('not_found', `no site ${siteId}`);
    if (site.status !== 'approved') throw new ItdaError('conflict', `site ${siteId} is ${site.status}`);
  }
  return unique.sort();
}

/** A site's outcome as of `now`, from its task (running query) or from the frozen columns. */
function siteOutcome(query: FeasibilityQueryRow, row: FeasibilitySiteRow, now: Date): SiteOutcome {
  const base = { siteId: row.site_id, siteName: row.site_name };
  if (row.status !== null)
    return {
      ...base,
      status: row.status as FeasibilitySiteStatus,
      answer: (row.answer as FeasibilitySiteAnswer | null) ?? null,
      error: row.error,
      answeredAt: row.answered_at,
    };
  const unanswered = (): SiteOutcome =>
    now.getTime() >= query.deadline.getTime()
      ? {
          ...base,
          status: 'not_answering',
          answer: null,
          error: { code: 'unavailable', message: `no answer within ${query.timeout_seconds} s` },
          answeredAt: null,
        }
      : { ...base, status: 'pending', answer: null, error: null, answeredAt: null };
  if (row.send_error)
    return { ...base, status: 'failed', answer: null, error: row.send_error, answeredAt: null };
  switch (row.task_status) {
    case 'done': {
      const parsed = feasibilitySiteAnswerSchema.safeParse(row.task_result);
      if (!parsed.success || parsed.data.queryId !== query.id)
        return {
          ...base,
          status: 'failed',
          answer: null,
          error: { code: 'bad_request', message: 'the site sent an answer that is not a feasibility answer' },
          answeredAt: row.task_completed_at,
        };
      const undisclosed = undisclosedCount(parsed.data);
      if (undisclosed)
        return {
          ...base,
          status: 'failed',
          answer: null,
          error: {
            code: 'cell_too_small',
            message: `the site's answer did not pass disclosure control: ${undisclosed}`,
          },
          answeredAt: row.task_completed_at,
        };
      return {
        ...base,
        status: 'answered',
        answer: parsed.data,
        error: null,
        answeredAt: row.task_completed_at,
      };
    }
    case 'refused':
    case 'failed':
      return {
        ...base,
        status: row.task_status,
        answer: null,
        error: row.task_error ?? { code: 'internal', message: `the site ${row.task_status} the task` },
        answeredAt: row.task_completed_at,
      };
    case 'expired':
      return { ...base, status: 'not_answering', answer: null, error: null, answeredAt: null };
    default:
      return unanswered();
  }
}

/**
 * The hub does not show a count that could not have left a site under the platform's
 * disclosure floor (a misconfigured or tampered site): names the first such count.
 */
export function undisclosedCount(answer: FeasibilitySiteAnswer): string | null {
  const { minCellCount, rounding } = answer.disclosure;
  if (minCellCount < DISCLOSURE_DEFAULTS.minCellCount || rounding < DISCLOSURE_DEFAULTS.rounding)
    return `minimum cell ${minCellCount} and rounding ${rounding} are below the platform's ${DISCLOSURE_DEFAULTS.minCellCount} and ${DISCLOSURE_DEFAULTS.rounding}`;
  const counts: [string, FeasibilityCount][] = [
    ['baseCount', answer.baseCount],
    ['finalCount', answer.finalCount],
    ...answer.inclusionRules.flatMap((r): [string, FeasibilityCount][] => [
      [`rule ${r.ruleSequence + 1} personCount`, r.personCount],
      [`rule ${r.ruleSequence + 1} remainingCount`, r.remainingCount],
    ]),
  ];
  for (const [name, count] of counts) {
    const ok =
      typeof count === 'string'
        ? count === `<${minCellCount}`
        : count === 0 || (count >= minCellCount && count % rounding === 0);
    if (!ok) return `${name} ${JSON.stringify(count)}`;
  }
  return null;
}

/** The exact-count interval a site's released count stands for. */
function rangeOf(count: FeasibilityCount, answer: FeasibilitySiteAnswer): { lo: number; hi: number } {
  return releasedCountRange(count, answer.disclosure);
}

/**
 * True when two released results pin their exact difference to 1…threshold−1 persons:
 * they differ, and every pair of exact values they allow differs by at least 1 and by
 * less than the threshold. Two rounded counts that differ never do (their exact values
 * may differ by anything from 1 up to 2 rounding steps), so rounding keeps its own
 * protection; what this catches is e.g. `"<10"` against 0 — a small set isolated.
 */
export function pinsSmallDifference(
  a: { lo: number; hi: number },
  b: { lo: number; hi: number },
  threshold = DIFFERENCING_MIN_PERSONS,
): boolean {
  if (a.lo === b.lo && a.hi === b.hi) return false;
  const least = Math.max(0, a.lo - b.hi, b.lo - a.hi);
  const most = Math.max(a.hi - b.lo, b.hi - a.lo);
  return least > 0 && most < threshold;
}

function sumRanges(ranges: { lo: number; hi: number }[]): { lo: number; hi: number } {
  return ranges.reduce((s, r) => ({ lo: s.lo + r.lo, hi: s.hi + r.hi }), { lo: 0, hi: 0 });
}

type CountField = 'baseCount' | 'finalCount';

/**
 * The differencing defence (see README.md): compares this query's answers with the
 * user's completed queries of the last 24 h whose definition differs. Returns the reason
 * to refuse, or null.
 */
function differencingRefusal(
  current: SiteOutcome[],
  earlier: { query: FeasibilityQueryRow; sites: SiteOutcome[] }[],
): string | null {
  const answered = (sites: SiteOutcome[]) =>
    new Map(
      sites.flatMap((s) => (s.status === 'answered' && s.answer ? [[s.siteId, s.answer] as const] : [])),
    );
  const now = answered(current);
  for (const { query, sites } of earlier) {
    const then = answered(sites);
    for (const field of ['baseCount', 'finalCount'] as CountField[]) {
      const threshold = (a: FeasibilitySiteAnswer, b: FeasibilitySiteAnswer) =>
        Math.max(DIFFERENCING_MIN_PERSONS, a.disclosure.minCellCount, b.disclosure.minCellCount);
      let perSite = false;
      for (const [siteId, answer] of now) {
        const before = then.get(siteId);
        if (
          before &&
          pinsSmallDifference(
            rangeOf(answer[field], answer),
            rangeOf(before[field], before),
            threshold(answer, before),
          )
        )
          perSite = true;
      }
      const totalNow = sumRanges([...now.values()].map((a) => rangeOf(a[field], a)));
      const totalThen = sumRanges([...then.values()].map((a) => rangeOf(a[field], a)));
      if (perSite || pinsSmallDifference(totalNow, totalThen)) {
        const label = query.name ? `"${query.name}" (${query.id})` : query.id;
        return `refused to prevent differencing: its results would differ by 1–${DIFFERENCING_MIN_PERSONS - 1} persons from your query ${label} of ${query.created_at.toISOString()}, whose definition differs`;
      }
    }
  }
  return null;
}

/** Sum of the disclosed counts over the answering sites, with the exact range they allow. */
export function totalOf(answers: FeasibilitySiteAnswer[], field: CountField): FeasibilityTotal {
  let sum = 0;
  let suppressedSites = 0;
  let atMost = 0;
  for (const answer of answers) {
    const count = answer[field];
    const range = rangeOf(count, answer);
    if (typeof count === 'number') sum += count;
    else suppressedSites += 1;
    atMost += typeof count === 'number' ? count : range.hi;
  }
  const atLeast = sum + suppressedSites;
  const n = (v: number) => v.toLocaleString('en-US');
  const display =
    suppressedSites === 0 ? n(sum) : sum === 0 ? `${n(atLeast)}–${n(atMost)}` : `≥ ${n(atLeast)}`;
  return { sum, suppressedSites, atLeast, atMost, display };
}

function present(query: FeasibilityQueryRow, sites: SiteOutcome[]): FeasibilityQueryView {
  const shown = query.status === 'complete';
  const answers = sites.flatMap((s) => (s.status === 'answered' && s.answer ? [s.answer] : []));
  return {
    id: query.id,
    name: query.name,
    status: query.status,
    refusal: query.refusal,
    createdAt: query.created_at.toISOString(),
    deadline: query.deadline.toISOString(),
    completedAt: query.completed_at?.toISOString() ?? null,
    timeoutSeconds: query.timeout_seconds,
    inclusionRules: query.inclusion_rules,
    definition: query.definition,
    sites: sites.map(
      (s): FeasibilitySiteResult => ({
        siteId: s.siteId,
        siteName: s.siteName,
        status: s.status,
        // Counts are shown only after the query settled and passed the differencing defence.
        answer: shown ? s.answer : null,
        error: s.error,
        answeredAt: s.answeredAt?.toISOString() ?? null,
      }),
    ),
    total: shown ? totalOf(answers, 'finalCount') : null,
    baseTotal: shown ? totalOf(answers, 'baseCount') : null,
  };
}

/** Settles the query when every site is done or the deadline passed; returns its current state. */
async function evaluate(
  ctx: HubContext,
  query: FeasibilityQueryRow,
): Promise<{ query: FeasibilityQueryRow; sites: SiteOutcome[] }> {
  const now = new Date();
  const rows = await listQuerySites(ctx.db, [query.id]);
  const sites = rows.map((row) => siteOutcome(query, row, now));
  if (query.status !== 'running' || sites.some((s) => s.status === 'pending')) return { query, sites };
  const settled = await ctx.db.transaction().execute(async (trx) => {
    // One user's queries settle one at a time, so two submitted together are still compared.
    await sql`select pg_advisory_xact_lock(4243, hashtext(${query.user_id}))`.execute(trx);
    const earlier = await earlierQueries(trx, query);
    const refusal = differencingRefusal(sites, earlier);
    const won = await settleQuery(
      trx,
      query.id,
      { status: refusal ? 'refused' : 'complete', refusal, completedAt: now },
      sites.map((s) => ({
        siteId: s.siteId,
        status: s.status,
        answer: s.answer,
        error: s.error,
        answeredAt: s.answeredAt,
      })),
    );
    if (won)
      await audit(
        ctx,
        {
          actorType: 'user',
          actorId: query.user_id,
          action: refusal ? 'feasibility.refuse' : 'feasibility.complete',
          targetType: 'feasibility_query',
          targetId: query.id,
          details: {
            ...(refusal ? { reason: 'differencing', message: refusal } : {}),
            sites: Object.fromEntries(sites.map((s) => [s.siteId, s.status])),
          },
        },
        trx,
      );
    return won;
  });
  if (!settled) ctx.log.debug({ queryId: query.id }, 'feasibility query settled by another request');
  const fresh = (await findQuery(ctx.db, query.id)) ?? query;
  const frozen = await listQuerySites(ctx.db, [query.id]);
  return { query: fresh, sites: frozen.map((row) => siteOutcome(fresh, row, now)) };
}

/** The user's completed queries of the last 24 h with another definition, with their frozen answers. */
async function earlierQueries(
  db: Kysely<HubDatabase>,
  query: FeasibilityQueryRow,
): Promise<{ query: FeasibilityQueryRow; sites: SiteOutcome[] }[]> {
  const since = new Date(query.created_at.getTime() - DIFFERENCING_WINDOW_MS);
  const candidates = (await listUserQueries(db, query.user_id, { since, limit: 1000 })).filter(
    (q) => q.id !== query.id && q.status === 'complete' && q.definition_hash !== query.definition_hash,
  );
  const rows = await listQuerySites(
    db,
    candidates.map((q) => q.id),
  );
  return candidates.map((q) => ({
    query: q,
    sites: rows.filter((r) => r.query_id === q.id).map((r) => siteOutcome(q, r, new Date())),
  }));
}

async function ownQuery(ctx: HubContext, user: FeasibilityUser, id: string): Promise<FeasibilityQueryRow> {
  const query = await findQuery(ctx.db, id);
  // Another user's query is reported as missing: its existence is nobody else's business.
  if (!query || (query.user_id !== user.id && !user.roles.includes('admin')))
    throw new ItdaError('not_found', `no feasibility query ${id}`);
  return query;
}

/**
 * A query for another hub module that has already decided who may see it (the access
 * workflow shows an application's linked query to its reviewers): settled if due, then
 * presented exactly as its owner sees it, with the owner and the definition's hash.
 * Not reachable over the feasibility routes, which keep the owner rule.
 */
export async function readFeasibilityQuery(
  ctx: HubContext,
  id: string,
): Promise<{ ownerId: string; definitionHash: string; view: FeasibilityQueryView } | undefined> {
  const row = await findQuery(ctx.db, id);
  if (!row) return undefined;
  const { query, sites } = await evaluate(ctx, row);
  return { ownerId: query.user_id, definitionHash: query.definition_hash, view: present(query, sites) };
}

/**
 * What another module checks before it refers to a query, read without settling it, so
 * it is safe inside that module's transaction (settle first with `readFeasibilityQuery`).
 */
export async function feasibilityQueryFacts(
  db: Kysely<HubDatabase>,
  id: string,
): Promise<
  | {
      ownerId: string;
      status: FeasibilityQueryRow['status'];
      definitionHash: string;
      definition: Record<string, unknown>;
    }
  | undefined
> {
  const row = await findQuery(db, id);
  if (!row) return undefined;
  return {
    ownerId: row.user_id,
    status: row.status,
    definitionHash: row.definition_hash,
    definition: row.definition,
  };
}

/**
 * One query with per-site status, counts as they left each site and totals; waits up to
 * `waitSeconds` for it to settle.
 */
export async function getFeasibilityQuery(
  ctx: HubContext,
  user: FeasibilityUser,
  id: string,
  waitSeconds = 0,
): Promise<FeasibilityQueryView> {
  const until = Date.now() + Math.min(waitSeconds, MAX_FEASIBILITY_WAIT_SECONDS) * 1000;
  let query = await ownQuery(ctx, user, id);
  for (;;) {
    const state = await evaluate(ctx, query);
    query = state.query;
    if (query.status !== 'running' || Date.now() >= until || ctx.shutdown.aborted)
      return present(query, state.sites);
    // Wake on a site's answer, at the deadline, or every RECHECK_MS (answers via other hub processes).
    const toDeadline = query.deadline.getTime() + 20 - Date.now();
    const pause = Math.max(
      10,
      Math.min(RECHECK_MS, until - Date.now(), toDeadline > 0 ? toDeadline : RECHECK_MS),
    );
    const pending = state.sites.find((s) => s.status === 'pending');
    const taskId =
      pending && (await listQuerySites(ctx.db, [id])).find((r) => r.site_id === pending.siteId)?.task_id;
    if (taskId) await ctx.tasks.wait(`result:${taskId}`, pause, ctx.shutdown);
    else await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** The user's query history, newest first (running queries are settled on the way). */
export async function listFeasibilityQueries(
  ctx: HubContext,
  user: FeasibilityUser,
): Promise<FeasibilityQueryList> {
  const rows = await listUserQueries(ctx.db, user.id, { limit: 200 });
  const queries = [];
  for (const row of rows) {
    const view = row.status === 'running' ? present((await evaluate(ctx, row)).query, []) : present(row, []);
    const { id, name, status, refusal, createdAt, completedAt } = view;
    queries.push({
      id,
      name,
      status,
      refusal,
      createdAt,
      completedAt,
      total: null as FeasibilityTotal | null,
    });
  }
  // Totals come from the frozen answers of the completed queries.
  const sites = await listQuerySites(
    ctx.db,
    queries.filter((q) => q.status === 'complete').map((q) => q.id),
  );
  for (const q of queries) {
    if (q.status !== 'complete') continue;
    const answers = sites
      .filter((s) => s.query_id === q.id && s.status === 'answered')
      .map((s) => s.answer as FeasibilitySiteAnswer);
    q.total = totalOf(answers, 'finalCount');
  }
  return { queries };
}
