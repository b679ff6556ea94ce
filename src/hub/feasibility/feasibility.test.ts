/**
 * The feasibility service on every hub dialect, with sites played by the test through
 * the task results they would post: fan-out, settling on all answers or the deadline,
 * malformed answers, the differencing defence, ownership, audit, and a hub restart in
 * the middle of a query.
 */
import fs from 'node:fs/promises';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, type HubDialect, tempDir } from '../../../test/support/hub.ts';
import { createTempDatabase, postgresReachable } from '../../../test/support/postgres.ts';
import { buildCohort } from '../../cohort/builder.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { FeasibilityCount, FeasibilitySiteAnswer } from '../../protocol/feasibility.ts';
import { listAudit } from '../audit/service.ts';
import { loadHubConfig } from '../config.ts';
import { recordTaskResult } from '../jobs/service.ts';
import { createHub, type Hub } from '../server.ts';
import { insertSite } from '../sites/store.ts';
import {
  type FeasibilityUser,
  getFeasibilityQuery,
  listFeasibilityQueries,
  pinsSmallDifference,
  submitFeasibilityQuery,
  totalOf,
} from './service.ts';

const definition = (conceptId: number, minAge?: number) =>
  buildCohort({
    entry: [{ domain: 'condition', conceptIds: [conceptId] }],
    ...(minAge === undefined ? {} : { age: { min: minAge } }),
  }) as Record<string, unknown>;

function answer(
  queryId: string,
  finalCount: FeasibilityCount,
  baseCount: FeasibilityCount = finalCount,
): FeasibilitySiteAnswer {
  return {
    queryId,
    baseCount,
    finalCount,
    inclusionRules: [],
    disclosure: { minCellCount: 10, rounding: 10 },
    computedAt: new Date().toISOString(),
    elapsedMs: 5,
  };
}

describe('differencing rule', () => {
  const r = (lo: number, hi: number) => ({ lo, hi });
  it('refuses when the answers pin a difference of 1–9 persons', () => {
    expect(pinsSmallDifference(r(1, 9), r(0, 0))).toBe(true); // "<10" vs 0
    expect(pinsSmallDifference(r(0, 0), r(1, 9))).toBe(true);
    expect(pinsSmallDifference(r(11, 19), r(10, 14), 20)).toBe(false); // overlapping: may be equal
  });
  it('leaves equal answers and different rounded counts alone', () => {
    expect(pinsSmallDifference(r(1, 9), r(1, 9))).toBe(false);
    expect(pinsSmallDifference(r(15, 24), r(25, 34))).toBe(false); // 20 vs 30: 1…19 apart
    expect(pinsSmallDifference(r(10, 14), r(1, 9))).toBe(false); // 10 vs "<10": 1…13 apart
    expect(pinsSmallDifference(r(0, 0), r(10, 14))).toBe(false); // ≥ 10 apart
  });
  it('scales with a raised minimum cell count', () => {
    expect(pinsSmallDifference(r(1, 19), r(0, 0), 10)).toBe(false);
    expect(pinsSmallDifference(r(1, 19), r(0, 0), 20)).toBe(true);
  });
});

describe('totals', () => {
  it('sums disclosed counts and says honestly when some site said "<10"', () => {
    const q = '00000000-0000-4000-8000-000000000000';
    expect(totalOf([answer(q, 1230), answer(q, 40)], 'finalCount')).toEqual({
      sum: 1270,
      suppressedSites: 0,
      atLeast: 1270,
      atMost: 1270,
      display: '1,270',
    });
    expect(totalOf([answer(q, 1230), answer(q, '<10')], 'finalCount')).toMatchObject({
      atLeast: 1231,
      atMost: 1239,
      display: '≥ 1,231',
    });
    expect(totalOf([answer(q, 0), answer(q, '<10'), answer(q, '<10')], 'finalCount').display).toBe('2–18');
    expect(totalOf([], 'finalCount').display).toBe('0');
  });
});

interface Opened {
  hub: Hub;
  reopen(): Promise<Hub>;
  dispose(): Promise<void>;
}

/** A hub whose database outlives it, so a test can restart it. */
async function openHub(dialect: HubDialect): Promise<Opened | undefined> {
  const dataDir = await tempDir('itda-hub-feasibility-');
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (dialect === 'postgres') {
    if (!(await postgresReachable())) return undefined;
    const db = await createTempDatabase('itda_hub');
    databaseUrl = db.url;
    drop = db.drop;
  }
  const start = () =>
    createHub(
      {
        ...loadHubConfig({}, { dataDir, port: 0, logLevel: 'silent', seedDemoAccounts: true }),
        ...(databaseUrl ? { databaseUrl } : {}),
      },
      pino({ level: 'silent' }),
    );
  const opened: Opened = {
    hub: await start(),
    async reopen() {
      await opened.hub.close();
      opened.hub = await start();
      return opened.hub;
    },
    async dispose() {
      await opened.hub.close();
      await drop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
  return opened;
}

describe.each(HUB_DIALECTS)('feasibility service on %s', (dialect) => {
  let h: Opened | undefined;
  let researcher: FeasibilityUser;
  let other: FeasibilityUser;
  const ctx = () => h!.hub.ctx;

  const userByEmail = async (email: string): Promise<FeasibilityUser> => {
    const row = await ctx()
      .db.selectFrom('app_user')
      .select(['id', 'roles'])
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    return { id: row.id, roles: row.roles };
  };

  /** The feasibility tasks of a query, per site. */
  const tasksOf = async (queryId: string) => {
    const rows = await ctx()
      .db.selectFrom('feasibility_site')
      .select(['site_id', 'task_id'])
      .where('query_id', '=', queryId)
      .orderBy('site_id')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.site_id, r.task_id!]));
  };

  const answerAll = async (queryId: string, counts: Record<string, FeasibilityCount>) => {
    const tasks = await tasksOf(queryId);
    for (const [siteId, count] of Object.entries(counts))
      await recordTaskResult(ctx(), siteId, tasks[siteId]!, {
        outcome: 'done',
        result: answer(queryId, count),
      });
  };

  beforeAll(async () => {
    h = await openHub(dialect);
    if (!h) return;
    for (const id of ['site-a', 'site-b'])
      await insertSite(ctx().db, {
        id,
        name: `Hospital ${id.slice(-1).toUpperCase()}`,
        publicKey: `${id}-key-`.padEnd(44, 'x'),
        software: 'test',
        approved: true,
      });
    await insertSite(ctx().db, {
      id: 'site-p',
      name: 'Pending',
      publicKey: 'site-p-key-'.padEnd(44, 'x'),
      software: 'test',
      approved: false,
    });
    researcher = await userByEmail('researcher@itda.demo');
    other = await userByEmail('steward@itda.demo');
  }, 120_000);
  afterAll(async () => h?.dispose());

  it('sends one signed feasibility task per approved site and shows no counts while running', async () => {
    if (!h) return;
    const view = await submitFeasibilityQuery(ctx(), researcher, {
      name: 'first',
      definition: definition(1),
    });
    expect(view.status).toBe('running');
    expect(view.sites.map((s) => [s.siteId, s.siteName, s.status])).toEqual([
      ['site-a', 'Hospital A', 'pending'],
      ['site-b', 'Hospital B', 'pending'],
    ]);
    const tasks = await tasksOf(view.id);
    const rows = await ctx()
      .db.selectFrom('task')
      .selectAll()
      .where('id', 'in', Object.values(tasks))
      .execute();
    expect(rows.map((r) => [r.site_id, r.type, r.status])).toEqual(
      expect.arrayContaining([
        ['site-a', 'feasibility', 'queued'],
        ['site-b', 'feasibility', 'queued'],
      ]),
    );
    const body = rows[0]!.signed.body as { payload: { queryId: string; definition: unknown } };
    expect(body.payload).toEqual({ queryId: view.id, definition: definition(1) });

    await answerAll(view.id, { 'site-a': 120 });
    const half = await getFeasibilityQuery(ctx(), researcher, view.id);
    expect(half.status).toBe('running');
    expect(half.sites.map((s) => [s.status, s.answer])).toEqual([
      ['answered', null],
      ['pending', null],
    ]);
    expect(half.total).toBeNull();

    await recordTaskResult(ctx(), 'site-b', tasks['site-b']!, {
      outcome: 'refused',
      error: { code: 'unsupported', message: 'PrimaryCriteria.CriteriaList[0].Foo' },
    });
    const done = await getFeasibilityQuery(ctx(), researcher, view.id, 5);
    expect(done.status).toBe('complete');
    expect(
      done.sites.map((s) => [s.siteId, s.status, s.answer?.finalCount ?? null, s.error?.code ?? null]),
    ).toEqual([
      ['site-a', 'answered', 120, null],
      ['site-b', 'refused', null, 'unsupported'],
    ]);
    expect(done.total?.display).toBe('120');
  });

  it('settles at the deadline with silent sites as not answering; a late answer does not change it', async () => {
    if (!h) return;
    const view = await submitFeasibilityQuery(ctx(), researcher, {
      definition: definition(2),
      timeoutSeconds: 1,
    });
    await answerAll(view.id, { 'site-b': 30 });
    const started = Date.now();
    const settled = await getFeasibilityQuery(ctx(), researcher, view.id, 10);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(settled.status).toBe('complete');
    expect(settled.sites.map((s) => [s.siteId, s.status])).toEqual([
      ['site-a', 'not_answering'],
      ['site-b', 'answered'],
    ]);
    expect(settled.total?.display).toBe('30');
    // The late answer is recorded on its task, the settled query keeps what it froze.
    await answerAll(view.id, { 'site-a': 500 });
    const tasks = await tasksOf(view.id);
    const late = await ctx()
      .db.selectFrom('task')
      .select('status')
      .where('id', '=', tasks['site-a']!)
      .executeTakeFirstOrThrow();
    expect(late.status).toBe('done');
    expect((await getFeasibilityQuery(ctx(), researcher, view.id)).total?.display).toBe('30');
  });

  it('marks a site that sends something else than an answer as failed', async () => {
    if (!h) return;
    const view = await submitFeasibilityQuery(ctx(), researcher, {
      definition: definition(3),
      siteIds: ['site-a'],
    });
    const tasks = await tasksOf(view.id);
    await recordTaskResult(ctx(), 'site-a', tasks['site-a']!, { outcome: 'done', result: { finalCount: 7 } });
    const done = await getFeasibilityQuery(ctx(), researcher, view.id);
    expect(done.sites.map((s) => s.status)).toEqual(['failed']);
    expect(done.total?.display).toBe('0');
  });

  it('never shows a count that could not have passed disclosure control at the site', async () => {
    if (!h) return;
    const view = await submitFeasibilityQuery(ctx(), researcher, { definition: definition(8) });
    const tasks = await tasksOf(view.id);
    await recordTaskResult(ctx(), 'site-a', tasks['site-a']!, {
      outcome: 'done',
      result: answer(view.id, 7),
    });
    await recordTaskResult(ctx(), 'site-b', tasks['site-b']!, {
      outcome: 'done',
      result: { ...answer(view.id, '<5'), disclosure: { minCellCount: 5, rounding: 10 } },
    });
    const done = await getFeasibilityQuery(ctx(), researcher, view.id);
    expect(done.status).toBe('complete');
    expect(done.sites.map((s) => [s.status, s.answer, s.error?.code])).toEqual([
      ['failed', null, 'cell_too_small'],
      ['failed', null, 'cell_too_small'],
    ]);
    expect(done.sites[0]!.error?.message).toContain('baseCount 7');
    expect(done.sites[1]!.error?.message).toContain('minimum cell 5');
  });

  it('refuses bad definitions and unknown or unapproved sites before sending anything', async () => {
    if (!h) return;
    const before = await ctx()
      .db.selectFrom('task')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    const refused = await submitFeasibilityQuery(ctx(), researcher, {
      definition: { ConceptSets: [], PrimaryCriteria: { CriteriaList: [{ LocationRegion: {} }] } },
    }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ItdaError);
    expect((refused as ItdaError).code).toBe('unsupported');
    expect((refused as ItdaError).message).toContain('LocationRegion');
    await expect(
      submitFeasibilityQuery(ctx(), researcher, { definition: definition(4), siteIds: ['site-z'] }),
    ).rejects.toThrow(/no site site-z/);
    await expect(
      submitFeasibilityQuery(ctx(), researcher, { definition: definition(4), siteIds: ['site-p'] }),
    ).rejects.toThrow(/site-p is pending/);
    const after = await ctx()
      .db.selectFrom('task')
      .select((e) => e.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
    const entries = await listAudit(ctx(), { action: 'feasibility.refuse', afterSeq: 0, limit: 100 });
    expect(entries.map((e) => e.details.reason)).toContain('unsupported');
  });

  it('refuses a query that would single out 1–9 persons against an earlier one, and never shows its counts', async () => {
    if (!h) return;
    const a = await submitFeasibilityQuery(ctx(), researcher, { name: 'rare', definition: definition(5) });
    await answerAll(a.id, { 'site-a': '<10', 'site-b': 200 });
    expect((await getFeasibilityQuery(ctx(), researcher, a.id)).status).toBe('complete');

    // Same cohort with one criterion more: site-a drops from "<10" to 0.
    const b = await submitFeasibilityQuery(ctx(), researcher, {
      name: 'rare, 65+',
      definition: definition(5, 65),
    });
    await answerAll(b.id, { 'site-a': 0, 'site-b': 200 });
    const refused = await getFeasibilityQuery(ctx(), researcher, b.id);
    expect(refused.status).toBe('refused');
    expect(refused.refusal).toContain(a.id);
    expect(refused.sites.every((s) => s.answer === null)).toBe(true);
    expect(refused.total).toBeNull();
    const history = await listFeasibilityQueries(ctx(), researcher);
    expect(history.queries.find((q) => q.id === b.id)).toMatchObject({ status: 'refused', total: null });

    // Another user asking the same is not this user's differencing.
    const c = await submitFeasibilityQuery(
      ctx(),
      { ...other, roles: ['researcher'] },
      { definition: definition(5, 65) },
    );
    await answerAll(c.id, { 'site-a': 0, 'site-b': 200 });
    expect((await getFeasibilityQuery(ctx(), other, c.id)).status).toBe('complete');

    // Rounded counts that differ do not pin a small set: 200 vs 190 is answered.
    const d = await submitFeasibilityQuery(ctx(), researcher, { definition: definition(5, 70) });
    await answerAll(d.id, { 'site-a': '<10', 'site-b': 190 });
    expect((await getFeasibilityQuery(ctx(), researcher, d.id)).status).toBe('complete');

    const entries = await listAudit(ctx(), { action: 'feasibility.refuse', afterSeq: 0, limit: 100 });
    expect(entries.filter((e) => e.targetId === b.id).map((e) => e.details.reason)).toEqual(['differencing']);
  });

  it('compares two queries submitted together: exactly one of a differencing pair is refused', async () => {
    if (!h) return;
    // A user with no history, so only these two can be compared.
    const admin = await userByEmail('admin@itda.demo');
    const a = await submitFeasibilityQuery(ctx(), admin, { definition: definition(7) });
    const b = await submitFeasibilityQuery(ctx(), admin, { definition: definition(7, 65) });
    await answerAll(a.id, { 'site-a': '<10', 'site-b': 0 });
    await answerAll(b.id, { 'site-a': 0, 'site-b': 0 });
    const views = await Promise.all([
      getFeasibilityQuery(ctx(), admin, a.id),
      getFeasibilityQuery(ctx(), admin, b.id),
    ]);
    expect(views.map((v) => v.status).sort(), JSON.stringify(views.map((v) => v.refusal))).toEqual([
      'complete',
      'refused',
    ]);
  });

  it('shows a query only to its owner', async () => {
    if (!h) return;
    const [mine] = (await listFeasibilityQueries(ctx(), researcher)).queries;
    await expect(getFeasibilityQuery(ctx(), other, mine!.id)).rejects.toThrow(/no feasibility query/);
    expect((await listFeasibilityQueries(ctx(), other)).queries.every((q) => q.id !== mine!.id)).toBe(true);
  });

  it('resumes after a hub restart: answers arriving later are counted', async () => {
    if (!h) return;
    const view = await submitFeasibilityQuery(ctx(), researcher, {
      definition: definition(6),
      timeoutSeconds: 120,
    });
    await answerAll(view.id, { 'site-a': 40 });
    await h.reopen();
    await answerAll(view.id, { 'site-b': 50 });
    const done = await getFeasibilityQuery(ctx(), researcher, view.id, 5);
    expect(done.status).toBe('complete');
    expect(done.sites.map((s) => s.answer?.finalCount)).toEqual([40, 50]);
    expect(done.total?.display).toBe('90');
  });
});
