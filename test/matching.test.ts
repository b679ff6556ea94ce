import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getApplication } from '../src/hub/access/service.ts';
import { listAudit } from '../src/hub/audit/service.ts';
import { createUser } from '../src/hub/auth/service.ts';
import { addSiteRole } from '../src/hub/auth/store.ts';
import { createDataset } from '../src/hub/catalog/service.ts';
import { MATCH_THRESHOLD, scoreDataset, WEIGHTS } from '../src/hub/matching/score.ts';
import {
  getNeed,
  listNeeds,
  type MatchingUser,
  needToApplication,
  postNeed,
  respondToNeed,
} from '../src/hub/matching/service.ts';
import { inbox } from '../src/hub/notifications/service.ts';
import { publishReport } from '../src/hub/sites/reports.ts';
import { type DatasetInputRaw, datasetInputSchema } from '../src/protocol/catalog.ts';
import type { NeedInputRaw, NeedView } from '../src/protocol/matching.ts';
import { needInputSchema } from '../src/protocol/matching.ts';
import type { DisclosedCount, ProfileReport } from '../src/protocol/reports.ts';
import { errorCode as code } from './support/errors.ts';
import { HUB_DIALECTS, startTestHub, type TestHub } from './support/hub.ts';
import { signIn } from './support/session.ts';

const DIABETES = 201826;
const HYPERTENSION = 320128;
const ADMIN: MatchingUser = { id: '00000000-0000-4000-8000-000000000000', roles: ['admin'], siteRoles: [] };

function profile(persons: number, conditions: Record<number, DisclosedCount>): ProfileReport {
  return {
    generatedAt: new Date().toISOString(),
    minCellCount: 10,
    concepts: {},
    analyses: [
      { analysisId: 1, name: 'Number of persons', stratumNames: [], rows: [{ strata: [], count: persons }] },
      {
        analysisId: 400,
        name: 'Number of persons with at least one condition occurrence, by condition_concept_id',
        stratumNames: ['condition_concept_id'],
        rows: Object.entries(conditions).map(([id, count]) => ({ strata: [id], count })),
      },
    ],
    distributions: [],
  };
}

function dataset(siteId: string, overrides: Partial<DatasetInputRaw>): DatasetInputRaw {
  return {
    siteId,
    title: { ko: `${siteId} 데이터`, en: `${siteId} data` },
    description: { ko: '설명', en: 'description' },
    modalities: ['ehr'],
    numberOfIndividuals: 100,
    temporalCoverage: { start: '2015-01-01', end: '2024-12-31' },
    accessRights: 'RESTRICTED',
    allowedUses: [{ code: 'DUO:0000042' }],
    contact: { name: 'Steward', email: 'steward@example.org' },
    ...overrides,
  };
}

const NEED: NeedInputRaw = {
  title: { ko: '당뇨·고혈압 영상 데이터', en: 'Diabetes and hypertension imaging data' },
  description: { ko: 'AI 모델 학습용', en: 'To train an AI model' },
  modalities: ['ehr', 'imaging'],
  conditionConceptIds: [DIABETES, HYPERTENSION],
  minIndividuals: 50,
  period: { start: '2018-01-01', end: '2022-12-31' },
  intendedUse: { purpose: 'HMB', commercial: true, forProfitOrganisation: true },
  deadline: '2099-12-31',
};

describe('matching score', () => {
  const need = needInputSchema.parse(NEED);
  const base = datasetInputSchema.parse(dataset('site-x', { modalities: ['ehr', 'imaging'] }));

  it('counts a suppressed "<10" as not enough, a disclosed count at the minimum as enough', () => {
    const suppressed = scoreDataset(need, base, profile(500, { [DIABETES]: 300, [HYPERTENSION]: '<10' }));
    const disclosed = scoreDataset(need, base, profile(500, { [DIABETES]: 300, [HYPERTENSION]: 50 }));
    const tooFew = scoreDataset(need, base, profile(500, { [DIABETES]: 300, [HYPERTENSION]: 49 }));
    expect(suppressed.breakdown.conditions).toMatchObject({
      score: 0.5,
      enough: [DIABETES],
      notEnough: [HYPERTENSION],
    });
    expect(tooFew.breakdown.conditions.notEnough).toEqual([HYPERTENSION]);
    expect(disclosed.breakdown.conditions).toMatchObject({ score: 1, notEnough: [] });
    expect(disclosed.score - suppressed.score).toBeCloseTo(WEIGHTS.conditions / 2, 6);
  });

  it('scores a DUO conflict as 0 and never a match', () => {
    const ncu = datasetInputSchema.parse(
      dataset('site-x', {
        modalities: ['ehr', 'imaging'],
        allowedUses: [{ code: 'DUO:0000042' }, { code: 'DUO:0000046' }],
      }),
    );
    const fit = scoreDataset(need, ncu, profile(500, { [DIABETES]: 300, [HYPERTENSION]: 300 }));
    expect(fit.breakdown.duo.status).toBe('conflict');
    expect(fit).toMatchObject({ score: 0, matched: false });
  });
});

describe.each(HUB_DIALECTS)('matching on %s', (dialect) => {
  let hub: TestHub | undefined;
  let poster: MatchingUser;
  const stewards: Record<string, MatchingUser> = {};
  const datasetIds: Record<string, string> = {};

  beforeAll(async () => {
    hub = await startTestHub(dialect, { seedDemoAccounts: true });
    if (!hub) return;
    const ctx = hub.ctx;
    const researcher = await createUser(ctx, {
      email: 'company@test',
      name: 'Company',
      password: 'long-enough',
      roles: ['researcher'],
    });
    poster = { id: researcher.id, roles: ['researcher'], siteRoles: [] };
    const planted: [string, Partial<DatasetInputRaw>, ProfileReport][] = [
      // Everything wanted: both modalities, both conditions well above 50, period covered, GRU.
      [
        'site-a',
        { modalities: ['ehr', 'imaging'], numberOfIndividuals: 500 },
        profile(500, { [DIABETES]: 300, [HYPERTENSION]: 200 }),
      ],
      // EHR only, 40 people, hypertension suppressed, coverage from 2020, HMB.
      [
        'site-b',
        {
          numberOfIndividuals: 40,
          temporalCoverage: { start: '2020-01-01', end: '2024-12-31' },
          allowedUses: [{ code: 'DUO:0000006' }],
        },
        profile(40, { [DIABETES]: 60, [HYPERTENSION]: '<10' }),
      ],
      // Would fit perfectly, but non-commercial use only: a DUO conflict.
      [
        'site-c',
        {
          modalities: ['ehr', 'imaging'],
          numberOfIndividuals: 1000,
          allowedUses: [{ code: 'DUO:0000042' }, { code: 'DUO:0000046' }],
        },
        profile(1000, { [DIABETES]: 500, [HYPERTENSION]: 500 }),
      ],
      // Imaging only, both conditions suppressed, no temporal coverage.
      [
        'site-d',
        { modalities: ['imaging'], temporalCoverage: null, allowedUses: [{ code: 'DUO:0000006' }] },
        profile(100, { [DIABETES]: '<10', [HYPERTENSION]: '<10' }),
      ],
    ];
    for (const [siteId, overrides, report] of planted) {
      await sql`insert into site (id, name, public_key, status, software)
        values (${siteId}, ${`Hospital ${siteId}`}, ${`key-${siteId}`}, 'approved', 'test')`.execute(ctx.db);
      await publishReport(ctx, siteId, 'profile', report);
      datasetIds[siteId] = (await createDataset(ctx, ADMIN, dataset(siteId, overrides))).id;
      const steward = await createUser(ctx, {
        email: `steward@${siteId}`,
        name: siteId,
        password: 'long-enough',
        roles: [],
      });
      await addSiteRole(ctx.db, { userId: steward.id, siteId, role: 'steward' });
      stewards[siteId] = { id: steward.id, roles: [], siteRoles: [{ siteId, role: 'steward' }] };
    }
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  let need: NeedView;

  it('ranks the planted datasets by fit, with the breakdown of each score', async (t) => {
    if (!hub) return t.skip();
    need = await postNeed(hub.ctx, poster, NEED);
    expect(need.state).toBe('open');
    expect(need.matches.map((m) => m.siteId)).toEqual(['site-a', 'site-b', 'site-d', 'site-c']);
    const [a, b, d, c] = need.matches;
    expect(a).toMatchObject({ rank: 1, score: 1, matched: true, datasetId: datasetIds['site-a'] });
    // site-b: half the modalities, diabetes only (hypertension "<10"), 40 of 50 people, 3 of 5 years.
    const wantedDays = 1826;
    const overlapDays = 1096;
    expect(b!.breakdown.conditions).toMatchObject({ enough: [DIABETES], notEnough: [HYPERTENSION] });
    expect(b!.breakdown.size).toMatchObject({ score: 0.8, individuals: 40 });
    expect(b!.breakdown.temporal).toMatchObject({ overlapDays });
    expect(b!.score).toBeCloseTo(
      WEIGHTS.modality * 0.5 +
        WEIGHTS.conditions * 0.5 +
        WEIGHTS.size * 0.8 +
        WEIGHTS.temporal * (overlapDays / wantedDays) +
        WEIGHTS.duo,
      4,
    );
    expect(b!.matched).toBe(true);
    expect(d!.breakdown.conditions.notEnough).toEqual([DIABETES, HYPERTENSION]);
    expect(d!.score).toBeLessThan(MATCH_THRESHOLD);
    expect(d!.matched).toBe(false);
    expect(c).toMatchObject({ score: 0, matched: false });
    expect(c!.breakdown.duo.status).toBe('conflict');
  });

  it('shows the need only to stewards of matched sites, with only their sites', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const seenByA = await getNeed(ctx, stewards['site-a']!, need.id);
    expect(seenByA.matches.map((m) => m.siteId)).toEqual(['site-a']);
    expect((await listNeeds(ctx, stewards['site-b']!)).map((n) => [n.id, n.matchedSites])).toEqual([
      [need.id, ['site-b']],
    ]);
    for (const siteId of ['site-c', 'site-d']) {
      expect(await code(getNeed(ctx, stewards[siteId]!, need.id))).toBe('not_found');
      expect(await listNeeds(ctx, stewards[siteId]!)).toEqual([]);
    }
    // The stewards of matched sites heard of it; the others did not.
    const kinds = async (user: MatchingUser) =>
      (await inbox(ctx, user.id, { limit: 10, offset: 0 })).items.map((i) => i.kind);
    expect(await kinds(stewards['site-a']!)).toEqual(['need.matched']);
    expect(await kinds(stewards['site-b']!)).toEqual(['need.matched']);
    expect(await kinds(stewards['site-d']!)).toEqual([]);
    expect(await kinds(stewards['site-c']!)).toEqual([]);
  });

  it('takes responses from stewards of matched sites only; the poster sees and hears them', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    expect(
      await code(
        respondToNeed(ctx, stewards['site-d']!, need.id, {
          siteId: 'site-d',
          response: 'interested',
          message: '',
        }),
      ),
    ).toBe('not_found');
    expect(
      await code(
        respondToNeed(ctx, stewards['site-a']!, need.id, {
          siteId: 'site-b',
          response: 'interested',
          message: '',
        }),
      ),
    ).toBe('forbidden');
    expect(await code(needToApplication(ctx, poster, need.id))).toBe('conflict'); // nobody interested yet
    const afterB = await respondToNeed(ctx, stewards['site-b']!, need.id, {
      siteId: 'site-b',
      response: 'need_more_info',
      message: '촬영 장비는?',
    });
    expect(afterB.state).toBe('open');
    const afterA = await respondToNeed(ctx, stewards['site-a']!, need.id, {
      siteId: 'site-a',
      response: 'interested',
      message: 'Happy to help',
    });
    expect(afterA.state).toBe('matched');
    expect(afterA.responses.map((r) => r.siteId)).toEqual(['site-a']); // a steward sees their own site's
    const seen = await getNeed(ctx, poster, need.id);
    expect(seen.responses.map((r) => [r.siteId, r.response])).toEqual([
      ['site-a', 'interested'],
      ['site-b', 'need_more_info'],
    ]);
    const posterInbox = await inbox(ctx, poster.id, { limit: 10, offset: 0 });
    expect(posterInbox.unread).toBe(2);
    expect(
      posterInbox.items.every((i) => i.kind === 'need.response' && i.link === `/matching/${need.id}`),
    ).toBe(true);
  });

  it('turns the need into an application draft for the interested sites and closes it', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    expect(await code(needToApplication(ctx, stewards['site-a']!, need.id))).toBe('forbidden');
    const { applicationId, need: closed } = await needToApplication(ctx, poster, need.id);
    expect(closed).toMatchObject({ state: 'closed', applicationId });
    const application = await getApplication(ctx, { id: poster.id, roles: poster.roles }, applicationId);
    expect(application.state).toBe('draft');
    expect(application.content).toMatchObject({
      title: `${NEED.title.ko} (${NEED.title.en})`,
      siteIds: ['site-a'],
      datasetIds: [datasetIds['site-a']],
      period: NEED.period,
      intendedUse: { purpose: 'HMB', commercial: true },
    });
    expect(
      await code(
        respondToNeed(ctx, stewards['site-b']!, need.id, {
          siteId: 'site-b',
          response: 'interested',
          message: '',
        }),
      ),
    ).toBe('conflict');
    const actions = (await listAudit(ctx, { targetType: 'need', targetId: need.id })).map((e) => e.action);
    expect(actions).toEqual(['need.post', 'need.respond', 'need.respond', 'need.to_application']);
  });

  it('refuses a deadline in the past, and responses after the deadline', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    expect(await code(postNeed(ctx, poster, { ...NEED, deadline: '2020-01-01' }))).toBe('validation_failed');
    const late = await postNeed(ctx, poster, NEED);
    await sql`update data_need set content = jsonb_set(content, '{deadline}', '"2020-01-01"') where id = ${late.id}`.execute(
      ctx.db,
    );
    expect(
      await code(
        respondToNeed(ctx, stewards['site-a']!, late.id, {
          siteId: 'site-a',
          response: 'interested',
          message: '',
        }),
      ),
    ).toBe('conflict');
    expect((await getNeed(ctx, poster, late.id)).responses).toEqual([]);
  });

  it('serves needs over HTTP to a signed-in researcher and refuses a steward posting', async (t) => {
    if (!hub) return t.skip();
    const url = await hub.listen();
    const researcher = await signIn(url, 'researcher@itda.demo');
    const posted = await researcher.json<NeedView>('POST', '/api/needs', NEED);
    expect(posted.status).toBe(201);
    expect(posted.body.matches[0]?.siteId).toBe('site-a');
    const bad = await researcher.json<{ detail: string }>('POST', '/api/needs', {
      ...NEED,
      minIndividuals: -1,
    });
    expect(bad.status).toBe(400);
    const steward = await signIn(url, 'steward1@itda.demo');
    expect((await steward.json('POST', '/api/needs', NEED)).status).toBe(403);
    expect(
      (await researcher.json<{ needs: { id: string }[] }>('GET', '/api/needs')).body.needs.map((n) => n.id),
    ).toEqual([posted.body.id]);
  });
});
