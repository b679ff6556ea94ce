/**
 * Federated feasibility on the demo network: a query reaches all three sites and comes
 * back with disclosed counts only, small counts as "<10", a stopped site reported as not
 * answering while the others' counts are shown, the differencing defence refusing a
 * query over HTTP without returning its results, and every step in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCohort } from '../src/cohort/builder.ts';
import {
  FEASIBILITY_PATHS,
  type FeasibilityQueryList,
  type FeasibilityQueryView,
  feasibilityQueryPath,
} from '../src/protocol/feasibility.ts';
import {
  COMMON_CONDITION,
  commonConditionOver65,
  loadFeasibilityFixture,
  RARE_CONDITION,
  rareCondition,
} from '../src/site/feasibility/test-fixture.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';
import { signIn, type TestSession } from './support/session.ts';

/** Persons per site, far above the demo population's ids so nothing collides. */
const FIXTURES = {
  'site-1': { old: 26, young: 11, rare: 4 },
  'site-2': { old: 14, young: 3, rare: 0 },
  'site-3': { old: 0, young: 5, rare: 12 },
} as const;
const FIRST_FIXTURE_PERSON = 900_000_000;

describe('federated feasibility on the demo network', () => {
  let network: TestDemo;
  let researcher: TestSession;

  async function run(body: Record<string, unknown>, wait = 30): Promise<FeasibilityQueryView> {
    const submitted = await researcher.json<FeasibilityQueryView>('POST', FEASIBILITY_PATHS.queries, body);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const { status, body: view } = await researcher.json<FeasibilityQueryView>(
      'GET',
      `${feasibilityQueryPath(submitted.body.id)}?wait=${wait}`,
    );
    expect(status).toBe(200);
    return view;
  }

  const finalCounts = (view: FeasibilityQueryView) =>
    Object.fromEntries(view.sites.map((s) => [s.siteId, s.answer?.finalCount ?? s.status]));

  beforeAll(async () => {
    network = await startTestDemo('itda-feasibility-', { patients: 30, hub: { siteOfflineAfterSeconds: 2 } });
    for (const [siteId, sizes] of Object.entries(FIXTURES))
      await loadFeasibilityFixture(network.sites.get(siteId)!.store, sizes, FIRST_FIXTURE_PERSON);
    researcher = await signIn(network.url, 'researcher@itda.demo');
  }, 600_000);
  afterAll(async () => {
    await network?.dispose();
  });

  it('reaches all three sites; counts leave rounded to 10, with attrition per rule', async () => {
    const view = await run({ name: 'Common condition, 65+', definition: commonConditionOver65() });
    expect(view.status).toBe('complete');
    expect(view.sites.map((s) => [s.siteId, s.status])).toEqual([
      ['site-1', 'answered'],
      ['site-2', 'answered'],
      ['site-3', 'answered'],
    ]);
    // Exact: 26, 14, 0 final; 37, 17, 5 at entry.
    expect(finalCounts(view)).toEqual({ 'site-1': 30, 'site-2': 10, 'site-3': 0 });
    expect(view.sites.map((s) => s.answer?.baseCount)).toEqual([40, 20, '<10']);
    expect(view.sites[0]!.answer!.inclusionRules).toEqual([
      { ruleSequence: 0, name: expect.any(String), personCount: 30, remainingCount: 30 },
    ]);
    expect(view.inclusionRules).toHaveLength(1);
    expect(view.total).toMatchObject({ sum: 40, suppressedSites: 0, display: '40' });
    // One site said "<10": the total says so.
    expect(view.baseTotal).toMatchObject({
      sum: 60,
      suppressedSites: 1,
      atLeast: 61,
      atMost: 69,
      display: '≥ 61',
    });
  });

  it('a query matching few persons comes back as "<10"', async () => {
    const view = await run({ name: 'Rare condition', definition: rareCondition() });
    expect(view.status).toBe('complete');
    // Exact: 4, 0, 12.
    expect(finalCounts(view)).toEqual({ 'site-1': '<10', 'site-2': 0, 'site-3': 10 });
    expect(view.total).toMatchObject({ sum: 10, suppressedSites: 1, display: '≥ 11' });
  });

  it('refuses an unsupported definition before any site is asked, naming the part', async () => {
    const reply = await researcher.json<{ code: string; detail: string }>('POST', FEASIBILITY_PATHS.queries, {
      definition: {
        ConceptSets: [],
        PrimaryCriteria: { CriteriaList: [{ LocationRegion: { CodesetId: 1 } }] },
      },
    });
    expect(reply.status).toBe(400);
    expect(reply.body.code).toBe('unsupported');
    expect(reply.body.detail).toContain('LocationRegion');
  });

  it('refuses a query whose results would single out a small set, and never shows them', async () => {
    // The rare cohort minus the persons older than 50: site-1 goes from "<10" to 0.
    const narrowed = buildCohort({
      entry: [{ domain: 'condition', conceptIds: [RARE_CONDITION] }],
      age: { max: 50 },
    });
    const view = await run({ name: 'Rare condition, up to 50', definition: narrowed });
    expect(view.status).toBe('refused');
    expect(view.refusal).toMatch(/differencing/);
    expect(view.refusal).toContain('Rare condition');
    expect(view.sites.every((s) => s.answer === null)).toBe(true);
    expect(view.total).toBeNull();
    expect(view.baseTotal).toBeNull();
    // Asking again does not reveal them either.
    const again = await researcher.json<FeasibilityQueryView>('GET', feasibilityQueryPath(view.id));
    expect(again.body.status).toBe('refused');
    expect(again.body.sites.every((s) => s.answer === null)).toBe(true);
    // The same definition run again is not differencing: it is answered.
    const rerun = await run({ definition: rareCondition() });
    expect(rerun.status).toBe('complete');
  });

  it('only researchers ask, and each sees only their own queries', async () => {
    const steward = await signIn(network.url, 'steward@itda.demo');
    const refused = await steward.json('POST', FEASIBILITY_PATHS.queries, { definition: rareCondition() });
    expect(refused.status).toBe(403);
    const mine = await researcher.json<FeasibilityQueryList>('GET', FEASIBILITY_PATHS.queries);
    expect(mine.status).toBe(200);
    const names = mine.body.queries.map((q) => [q.name, q.status]);
    expect(names).toContainEqual(['Rare condition, up to 50', 'refused']);
    expect(names).toContainEqual(['Common condition, 65+', 'complete']);
    expect(mine.body.queries.find((q) => q.status === 'refused')?.total).toBeNull();
    const admin = await signIn(network.url, 'admin@itda.demo');
    const theirs = await admin.json<FeasibilityQueryList>('GET', FEASIBILITY_PATHS.queries);
    expect(theirs.body.queries).toEqual([]);
  });

  it('reports a stopped site as not answering while the others are shown', async () => {
    await network.stopSite('site-3');
    const definition = buildCohort({
      entry: [{ domain: 'condition', conceptIds: [COMMON_CONDITION] }],
      age: { min: 70 },
    });
    const started = Date.now();
    const view = await run({ name: 'Common condition, 70+', definition, timeoutSeconds: 4 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3_500);
    expect(view.status).toBe('complete');
    expect(view.sites.map((s) => [s.siteId, s.status])).toEqual([
      ['site-1', 'answered'],
      ['site-2', 'answered'],
      ['site-3', 'not_answering'],
    ]);
    expect(finalCounts(view)).toEqual({ 'site-1': 30, 'site-2': 10, 'site-3': 'not_answering' });
    expect(view.total?.display).toBe('40');
  });

  it('keeps every query and refusal in the audit log', async () => {
    const admin = await signIn(network.url, 'admin@itda.demo');
    const { body } = await admin.json<{
      entries: { action: string; targetId: string | null; details: Record<string, unknown> }[];
    }>('GET', '/api/audit?limit=1000');
    const actions = body.entries.filter((e) => e.action.startsWith('feasibility.'));
    const count = (action: string) => actions.filter((e) => e.action === action).length;
    expect(count('feasibility.submit')).toBe(5);
    expect(count('feasibility.complete')).toBe(4);
    // The unsupported definition and the differencing refusal.
    expect(actions.filter((e) => e.action === 'feasibility.refuse').map((e) => e.details.reason)).toEqual([
      'unsupported',
      'differencing',
    ]);
    const tasks = body.entries.filter((e) => e.action === 'task.send');
    expect(tasks.length).toBeGreaterThanOrEqual(15);
  });
});
