/**
 * The Beacon v2-style endpoint on the demo network: filters become a feasibility query
 * that reaches every site, counts come back per site as they left it ("<10", multiples
 * of 10), the differencing defence holds, and the queries land in the caller's history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BeaconIndividualsResponse } from '../src/hub/beacon/schema.ts';
import { FEASIBILITY_PATHS, type FeasibilityQueryList } from '../src/protocol/feasibility.ts';
import {
  COMMON_CONDITION,
  loadFeasibilityFixture,
  RARE_CONDITION,
} from '../src/site/feasibility/test-fixture.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';
import { signIn, type TestSession } from './support/session.ts';

/** Persons per site (all women; "old" born 1940, "young" 1990, "rare" have the rare condition). */
const FIXTURES = {
  'site-1': { old: 26, young: 11, rare: 4 },
  'site-2': { old: 14, young: 3, rare: 0 },
  'site-3': { old: 0, young: 5, rare: 12 },
} as const;
const FIRST_FIXTURE_PERSON = 800_000_000;

describe('Beacon v2 endpoint on the demo network', () => {
  let network: TestDemo;
  let researcher: TestSession;
  let admin: TestSession;

  const counts = (body: BeaconIndividualsResponse) =>
    Object.fromEntries(body.response.resultSets.map((set) => [set.id, set.resultsCount]));

  beforeAll(async () => {
    network = await startTestDemo('itda-beacon-', { patients: 30, hub: { siteOfflineAfterSeconds: 2 } });
    for (const [siteId, sizes] of Object.entries(FIXTURES))
      await loadFeasibilityFixture(network.sites.get(siteId)!.store, sizes, FIRST_FIXTURE_PERSON);
    // The hub's vocabulary copy names the filter concepts' domains.
    await network.hub.ctx.db
      .insertInto('concept')
      .values(
        [
          [COMMON_CONDITION, 'Common test condition'],
          [RARE_CONDITION, 'Rare test condition'],
        ].map(([id, name]) => ({
          concept_id: id as number,
          concept_name: name as string,
          domain_id: 'Condition',
          vocabulary_id: 'Itda',
          concept_class_id: 'Clinical Finding',
          standard_concept: 'S',
          concept_code: String(id),
          invalid_reason: null,
        })),
      )
      .onConflict((oc) => oc.column('concept_id').doNothing())
      .execute();
    researcher = await signIn(network.url, 'researcher@itda.demo');
    admin = await signIn(network.url, 'admin@itda.demo');
  }, 600_000);
  afterAll(async () => {
    await network?.dispose();
  });

  it('says who it is and which filters it takes', async () => {
    const info = await researcher.json<{
      meta: { apiVersion: string };
      response: { info: { sites: number } };
    }>('GET', '/api/beacon/info');
    expect(info.status).toBe(200);
    expect(info.body.meta.apiVersion).toBe('v2.0.0');
    expect(info.body.response.info.sites).toBe(3);
    // Paged: the alphanumeric terms first, then the hub vocabulary's standard concepts by id.
    const ids: string[] = [];
    for (let skip = 0; ; skip += 1000) {
      const page = await researcher.json<{ response: { filteringTerms: { id: string }[] } }>(
        'GET',
        `/api/beacon/filtering_terms?skip=${skip}&limit=1000`,
      );
      expect(page.status).toBe(200);
      ids.push(...page.body.response.filteringTerms.map((t) => t.id));
      if (page.body.response.filteringTerms.length < 1000) break;
    }
    expect(ids.slice(0, 2)).toEqual(['Gender', 'age']);
    expect(ids).toContain(`OMOP:${COMMON_CONDITION}`);
    expect(ids.slice(2).every((id) => /^OMOP:\d+$/.test(id))).toBe(true);
  });

  it('answers count granularity per site, as the counts left the sites', async () => {
    const reply = await researcher.json<BeaconIndividualsResponse>('POST', '/api/beacon/individuals', {
      meta: { apiVersion: 'v2.0.0' },
      query: {
        filters: [{ id: `OMOP:${COMMON_CONDITION}` }, { id: 'age', operator: '>=', value: '65' }],
        requestedGranularity: 'count',
        includeResultsetResponses: 'ALL',
      },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    const body = reply.body;
    expect(body.meta).toMatchObject({
      apiVersion: 'v2.0.0',
      returnedGranularity: 'count',
      receivedRequestSummary: {
        requestedGranularity: 'count',
        filters: [{ id: `OMOP:${COMMON_CONDITION}` }, {}],
      },
      returnedSchemas: [{ entityType: 'individual' }],
    });
    // 26 → 30, 14 → 10, 0 → 0 (site-3 has only young persons).
    expect(counts(body)).toEqual({ 'site-1': 30, 'site-2': 10, 'site-3': 0 });
    expect(body.response.resultSets.map((s) => [s.id, s.exists, s.info.status])).toEqual([
      ['site-1', true, 'answered'],
      ['site-2', true, 'answered'],
      ['site-3', false, 'answered'],
    ]);
    expect(body.responseSummary).toEqual({ exists: true, numTotalResults: 40 });
    expect(body.info.notAnswering).toEqual([]);
  });

  it('returns small counts as "<10" and rounds the rest, over GET', async () => {
    const reply = await admin.json<BeaconIndividualsResponse>(
      'GET',
      `/api/beacon/individuals?filters=${RARE_CONDITION}&includeResultsetResponses=ALL`,
    );
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(counts(reply.body)).toEqual({ 'site-1': '<10', 'site-2': 0, 'site-3': 10 });
    expect(reply.body.response.resultSets.find((s) => s.id === 'site-1')?.exists).toBe(true);
    // The lowest total the disclosed counts allow: 10 + at least 1 behind "<10".
    expect(reply.body.responseSummary).toEqual({ exists: true, numTotalResults: 11 });
    expect(reply.body.info.totalDisplay).toBe('≥ 11');
    // HIT (the default) leaves out the sites with nobody.
    const hits = await admin.json<BeaconIndividualsResponse>(
      'GET',
      `/api/beacon/individuals?filters=OMOP:${RARE_CONDITION}`,
    );
    expect(hits.body.response.resultSets.map((s) => s.id)).toEqual(['site-1', 'site-3']);
  });

  it('answers boolean granularity without counts', async () => {
    const reply = await admin.json<BeaconIndividualsResponse>('POST', '/api/beacon/individuals', {
      query: {
        filters: [
          { id: String(COMMON_CONDITION) },
          { id: 'Gender', value: '8532' },
          { id: 'age', operator: '>', value: '64' },
        ],
        requestedGranularity: 'boolean',
      },
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    expect(reply.body.responseSummary).toEqual({ exists: true });
    expect(reply.body.meta.returnedGranularity).toBe('boolean');
    // HIT: the two sites with such persons, and no counts at all.
    expect(reply.body.response.resultSets.map((s) => [s.id, s.exists])).toEqual([
      ['site-1', true],
      ['site-2', true],
    ]);
    expect(JSON.stringify(reply.body)).not.toMatch(/resultsCount|numTotalResults|totalDisplay/);
  });

  it('refuses a query that would isolate a few persons by differencing, and unknown filters', async () => {
    // All ages differs from the 65+ query above by the 5 young persons of site-3 alone.
    const reply = await researcher.json<{ code: string; detail: string }>('POST', '/api/beacon/individuals', {
      query: { filters: [{ id: `OMOP:${COMMON_CONDITION}` }], includeResultsetResponses: 'ALL' },
    });
    expect(reply.status).toBe(403);
    expect(reply.body.detail).toMatch(/differencing/);
    expect(JSON.stringify(reply.body)).not.toMatch(/resultsCount/);

    const unknown = await researcher.json<{ detail: string }>(
      'GET',
      '/api/beacon/individuals?filters=123456789',
    );
    expect(unknown.status).toBe(400);
    expect(unknown.body.detail).toBe(
      "filters[0] (123456789): concept 123456789 is not in the hub's vocabulary",
    );
    const foreign = await researcher.json<{ detail: string }>(
      'GET',
      '/api/beacon/individuals?filters=HP:0001627',
    );
    expect(foreign.status).toBe(400);
    expect(foreign.body.detail).toMatch(/HP:0001627.*not a filter this beacon knows/);
  });

  it('keeps beacon queries in the caller’s feasibility history, and only signed-in researchers may ask', async () => {
    const history = await researcher.json<FeasibilityQueryList>('GET', FEASIBILITY_PATHS.queries);
    expect(history.body.queries.map((q) => [q.name, q.status])).toEqual(
      expect.arrayContaining([
        ['Beacon: Common test condition; age >= 65', 'complete'],
        ['Beacon: Common test condition', 'refused'],
      ]),
    );
    const anonymous = await fetch(`${network.url}/api/beacon/individuals?filters=${RARE_CONDITION}`);
    expect(anonymous.status).toBe(401);
    const steward = await signIn(network.url, 'steward@itda.demo');
    expect((await steward.call('GET', `/api/beacon/individuals?filters=${RARE_CONDITION}`)).status).toBe(403);
  });
});
