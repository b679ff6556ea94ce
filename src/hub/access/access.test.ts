import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCode as code } from '../../../test/support/errors.ts';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { buildCohort } from '../../cohort/builder.ts';
import {
  type ApplicationDraft,
  cohortHash,
  type SignedPermit,
  type VoteInput,
} from '../../protocol/access.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { FeasibilityCount, FeasibilityRuleAttrition } from '../../protocol/feasibility.ts';
import { generateSigningKeyPair, verifyValue } from '../../protocol/signing.ts';
import { flushAudit, listAudit, verifyAuditLog } from '../audit/service.ts';
import { createUser } from '../auth/service.ts';
import { createDataset } from '../catalog/service.ts';
import { getFeasibilityQuery, submitFeasibilityQuery } from '../feasibility/service.ts';
import { recordTaskResult } from '../jobs/service.ts';
import { insertSite } from '../sites/store.ts';
import {
  type AccessUser,
  castVote,
  chooseJointReview,
  configureDrb,
  createApplication,
  downloadAttachment,
  getApplication,
  getApplicationFeasibility,
  getReview,
  listSiteReviews,
  resubmitApplication,
  returnApplication,
  revokedPermitsForSite,
  revokePermit,
  submitApplication,
  updateDraft,
  uploadAttachment,
} from './service.ts';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');
const COHORT = { ConceptSets: [], PrimaryCriteria: { CriteriaList: [] }, Title: 'test cohort' };

describe.each(HUB_DIALECTS)('access workflow on %s', (dialect) => {
  let hub: TestHub | undefined;
  let applicant: AccessUser;
  let outsider: AccessUser;
  let admin: AccessUser;
  // site-c is requested by no application: its DRB is an outsider to them all.
  const drb: Record<'site-a' | 'site-b' | 'site-c', AccessUser[]> = {
    'site-a': [],
    'site-b': [],
    'site-c': [],
  };

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    if (!hub) return;
    const ctx = hub.ctx;
    const user = async (email: string, roles: ('researcher' | 'admin' | 'steward')[] = []) =>
      createUser(ctx, { email, name: email, password: 'long-enough', roles });
    applicant = await user('pi@test', ['researcher']);
    outsider = await user('other@test', ['researcher']);
    admin = await user('admin@test', ['admin']);
    for (const siteId of ['site-a', 'site-b', 'site-c'] as const) {
      await insertSite(ctx.db, {
        id: siteId,
        name: siteId,
        publicKey: generateSigningKeyPair().publicKey,
        software: 'test',
        approved: true,
      });
      for (let i = 0; i < 5; i++) drb[siteId].push(await user(`drb${i}@${siteId}`));
      await configureDrb(ctx, admin, siteId, {
        members: drb[siteId].map((m, i) => ({ userId: m.id, external: i >= 3 })),
      });
    }
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  const draft = (overrides: ApplicationDraft = {}): ApplicationDraft => ({
    title: '당뇨병 환자의 신기능 변화 Kidney function in diabetes',
    purpose: 'Describe eGFR decline',
    researchQuestion: 'How fast does eGFR fall after a diabetes diagnosis?',
    intendedUse: {
      purpose: 'HMB',
      diseaseConceptIds: [],
      commercial: false,
      forProfitOrganisation: false,
      methodsResearch: false,
      geneticStudy: false,
    },
    members: [{ name: 'PI', role: 'pi', userId: applicant.id }],
    datasetIds: [],
    siteIds: ['site-a', 'site-b'],
    cohort: COHORT,
    variables: { tables: ['measurement'], conceptSets: [] },
    period: { start: '2026-01-01', end: '2099-12-31' },
    analysisMode: 'federated_analysis',
    irb: {
      number: 'IRB-2026-001',
      institution: 'Hangang University',
      approvedOn: '2026-01-01',
      expiresOn: '2099-06-30',
    },
    dataManagementPlan: 'Aggregates only; nothing leaves the sites.',
    review: { mode: 'separate' },
    ...overrides,
  });

  /** A complete application with its IRB letter uploaded, submitted. */
  async function submitted(overrides: ApplicationDraft = {}) {
    const ctx = hub!.ctx;
    const app = await createApplication(ctx, applicant, draft(overrides));
    const irb = await uploadAttachment(ctx, applicant, app.id, {
      kind: 'irb_approval',
      fileName: 'irb-approval.pdf',
      contentType: 'application/pdf',
      bytes: PDF,
    });
    await updateDraft(ctx, applicant, app.id, {
      irb: { ...draft(overrides).irb!, documentAttachmentId: irb.id },
    });
    return submitApplication(ctx, applicant, app.id);
  }

  it('walks two sites from draft to a signed permit with the DRBs’ conditions', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const app = await submitted();
    expect(app.state).toBe('submitted');
    expect(app.cohortHash).toBe(cohortHash(COHORT));
    const [reviewA, reviewB] = app.reviews;
    expect([reviewA?.siteId, reviewB?.siteId]).toEqual(['site-a', 'site-b']);
    expect(reviewA?.duo.status).toBe('needs_review'); // no catalog datasets named

    await castVote(ctx, drb['site-a'][0]!, reviewA!.id, { vote: 'approve', comment: '', conditions: [] });
    expect((await getApplication(ctx, applicant, app.id)).state).toBe('under_review');
    await castVote(ctx, drb['site-a'][1]!, reviewA!.id, {
      vote: 'approve_with_conditions',
      comment: 'fine',
      conditions: ['report results to the DRB yearly'],
    });
    const decidedA = await castVote(ctx, drb['site-a'][3]!, reviewA!.id, {
      vote: 'reject',
      comment: 'no',
      conditions: [],
    });
    expect(decidedA.decision).toBe('approved_with_conditions');
    expect(
      await code(
        castVote(ctx, drb['site-a'][4]!, reviewA!.id, { vote: 'approve', comment: '', conditions: [] }),
      ),
    ).toBe('conflict');
    for (const member of drb['site-b'].slice(0, 2))
      await castVote(ctx, member, reviewB!.id, { vote: 'approve', comment: '', conditions: [] });
    expect((await getApplication(ctx, applicant, app.id)).state).toBe('under_review');
    await castVote(ctx, drb['site-b'][2]!, reviewB!.id, { vote: 'approve', comment: '', conditions: [] });

    const approved = await getApplication(ctx, applicant, app.id);
    expect(approved.state).toBe('approved');
    expect(approved.permits).toHaveLength(1);
    const permit = approved.permits[0]!.permit as SignedPermit;
    expect(verifyValue(ctx.keys.publicKey, permit)).toBe(true);
    expect(permit.body).toMatchObject({
      applicationId: app.id,
      sites: ['site-a', 'site-b'],
      researchers: [applicant.id],
      cohortHash: cohortHash(COHORT),
      allowedAnalyses: ['cohort_count'],
      conditions: [{ siteId: 'site-a', condition: 'report results to the DRB yearly' }],
      notAfter: '2099-06-30T23:59:59.999Z',
    });
    // The applicant sees decisions, not how each member voted.
    expect(approved.reviews[0]?.votes).toBeUndefined();

    expect(await revokedPermitsForSite(ctx, 'site-a')).toEqual([]);
    expect(await code(revokePermit(ctx, outsider, permit.body.permitId, 'x'))).toBe('not_found');
    expect(await code(revokePermit(ctx, applicant, permit.body.permitId, 'x'))).toBe('forbidden');
    await revokePermit(ctx, drb['site-b'][0]!, permit.body.permitId, 'consent withdrawn');
    expect(await revokedPermitsForSite(ctx, 'site-a')).toEqual([permit.body.permitId]);
    expect(await code(revokePermit(ctx, admin, permit.body.permitId, 'again'))).toBe('conflict');

    const actions = (await listAudit(ctx, { limit: 1000 })).map((e) => e.action);
    for (const action of [
      'application.create',
      'attachment.upload',
      'application.submit',
      'application.begin_review',
      'review.vote',
      'review.decide',
      'application.approve',
      'permit.issue',
      'permit.revoke',
      'drb.configure',
    ])
      expect(actions, action).toContain(action);
    await flushAudit(ctx);
    expect(await verifyAuditLog(ctx.db, ctx.keys.publicKey)).toMatchObject({ ok: true });
  });

  it('refuses illegal transitions and out-of-turn actions with conflict', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const app = await submitted();
    expect(await code(submitApplication(ctx, applicant, app.id))).toBe('conflict');
    expect(await code(resubmitApplication(ctx, applicant, app.id))).toBe('conflict');
    expect(await code(updateDraft(ctx, applicant, app.id, { title: 'changed' }))).toBe('conflict');
    const review = app.reviews[0]!;
    await castVote(ctx, drb['site-a'][0]!, review.id, { vote: 'approve', comment: '', conditions: [] });
    // One vote per member per round.
    expect(
      await code(
        castVote(ctx, drb['site-a'][0]!, review.id, { vote: 'reject', comment: '', conditions: [] }),
      ),
    ).toBe('conflict');
    // Any decision of a site's own rejects the whole application.
    for (const member of drb['site-b'].slice(0, 3))
      await castVote(ctx, member, app.reviews[1]!.id, { vote: 'reject', comment: 'no', conditions: [] });
    const rejected = await getApplication(ctx, applicant, app.id);
    expect(rejected.state).toBe('rejected');
    expect(rejected.permits).toEqual([]);
    expect(
      await code(
        castVote(ctx, drb['site-a'][1]!, review.id, { vote: 'approve', comment: '', conditions: [] }),
      ),
    ).toBe('conflict');
    expect(await code(returnApplication(ctx, drb['site-a'][1]!, app.id, 'too late'))).toBe('conflict');
  });

  it('starts a new round on resubmission: members vote again', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const app = await submitted();
    const first = app.reviews[0]!;
    await castVote(ctx, drb['site-a'][0]!, first.id, { vote: 'approve', comment: '', conditions: [] });
    expect(await code(returnApplication(ctx, applicant, app.id, 'please'))).toBe('forbidden');
    const returned = await returnApplication(ctx, drb['site-a'][2]!, app.id, 'state the eGFR formula');
    expect(returned.state).toBe('returned');
    await updateDraft(ctx, applicant, app.id, { purpose: 'Describe eGFR (CKD-EPI 2021) decline' });
    const again = await resubmitApplication(ctx, applicant, app.id);
    expect([again.state, again.round]).toEqual(['resubmitted', 2]);
    const second = again.reviews.find((r) => r.siteId === 'site-a')!;
    expect(second.id).not.toBe(first.id);
    // The old round's review is closed; the same member votes again in the new one.
    expect(
      await code(
        castVote(ctx, drb['site-a'][0]!, first.id, { vote: 'approve', comment: '', conditions: [] }),
      ),
    ).toBe('conflict');
    expect(
      await code(
        castVote(ctx, drb['site-a'][0]!, second.id, { vote: 'approve', comment: '', conditions: [] }),
      ),
    ).toBe('ok');
  });

  it('lets only the site’s own DRB vote and its DRB and stewards read its reviews', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const app = await submitted();
    const reviewB = app.reviews.find((r) => r.siteId === 'site-b')!;
    const vote: VoteInput = { vote: 'approve', comment: '', conditions: [] };
    expect(await code(castVote(ctx, applicant, reviewB.id, vote))).toBe('forbidden');
    expect(await code(castVote(ctx, admin, reviewB.id, vote))).toBe('forbidden');
    expect(await code(castVote(ctx, drb['site-a'][0]!, reviewB.id, vote))).toBe('forbidden');
    const stewardA: AccessUser = {
      id: outsider.id,
      roles: ['steward'],
      siteRoles: [{ siteId: 'site-a', role: 'steward' }],
    };
    expect(await code(listSiteReviews(ctx, stewardA, 'site-b'))).toBe('forbidden');
    expect(await code(getReview(ctx, stewardA, reviewB.id))).toBe('forbidden');
    expect(await code(listSiteReviews(ctx, drb['site-a'][0]!, 'site-b'))).toBe('forbidden');
    expect((await listSiteReviews(ctx, stewardA, 'site-a')).length).toBeGreaterThan(0);
    // The inbox is paged: a second application's review is there, and a limit of one shows one.
    await submitted();
    expect((await listSiteReviews(ctx, stewardA, 'site-a')).length).toBeGreaterThan(1);
    expect(await listSiteReviews(ctx, stewardA, 'site-a', 1)).toHaveLength(1);
    // A steward of site-a sees the application with site-a's review only.
    const asSteward = await getApplication(ctx, stewardA, app.id);
    expect(asSteward.reviews.map((r) => r.siteId)).toEqual(['site-a']);
    expect(await code(getApplication(ctx, { id: outsider.id, roles: ['researcher'] }, app.id))).toBe(
      'not_found',
    );
  });

  it('joint review: the lead DRB decides, a follower accepts or opts out and votes itself', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const app = await submitted({ review: { mode: 'joint', leadSiteId: 'site-a' } });
    const lead = app.reviews.find((r) => r.siteId === 'site-a')!;
    const follower = app.reviews.find((r) => r.siteId === 'site-b')!;
    expect([lead.jointRole, follower.jointRole]).toEqual(['lead', 'follower']);
    const approve: VoteInput = { vote: 'approve', comment: '', conditions: [] };
    expect(await code(castVote(ctx, drb['site-b'][0]!, follower.id, approve))).toBe('conflict');
    for (const member of drb['site-a'].slice(0, 3)) await castVote(ctx, member, lead.id, approve);
    expect((await getApplication(ctx, applicant, app.id)).state).toBe('under_review');
    await chooseJointReview(ctx, drb['site-b'][0]!, follower.id, 'accepted');
    expect(await code(chooseJointReview(ctx, drb['site-b'][1]!, follower.id, 'opted_out'))).toBe('conflict');
    const done = await getApplication(ctx, applicant, app.id);
    expect(done.state).toBe('approved');
    expect(done.reviews.map((r) => r.decision)).toEqual(['approved', 'approved']);

    const other = await submitted({ review: { mode: 'joint', leadSiteId: 'site-a' } });
    const follow2 = other.reviews.find((r) => r.siteId === 'site-b')!;
    await chooseJointReview(ctx, drb['site-b'][0]!, follow2.id, 'opted_out');
    for (const member of drb['site-a'].slice(0, 3))
      await castVote(ctx, member, other.reviews.find((r) => r.siteId === 'site-a')!.id, approve);
    expect((await getApplication(ctx, applicant, other.id)).state).toBe('under_review');
    for (const member of drb['site-b'].slice(0, 3))
      await castVote(ctx, member, follow2.id, { ...approve, vote: 'reject' });
    expect((await getApplication(ctx, applicant, other.id)).state).toBe('rejected');
  });

  it('checks each site’s catalog datasets against the intended use (DUO) for its reviewers', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const dataset = (siteId: string, allowedUses: { code: string; disease?: string }[]) =>
      createDataset(
        ctx,
        { id: admin.id, roles: ['admin'], siteRoles: [] },
        {
          siteId,
          title: { ko: `${siteId} 진료기록`, en: `${siteId} records` },
          description: { ko: '설명', en: 'description' },
          modalities: ['ehr'],
          accessRights: 'RESTRICTED',
          allowedUses,
          contact: { name: 'steward', email: 'steward@test.example' },
        },
      );
    const general = await dataset('site-a', [
      { code: 'DUO:0000006' },
      { code: 'DUO:0000021' },
      { code: 'DUO:0000046' },
    ]);
    const diabetesOnly = await dataset('site-b', [{ code: 'DUO:0000007', disease: 'OMOP:201826' }]);
    const app = await submitted({ datasetIds: [general.id, diabetesOnly.id] });
    const [a, b] = app.reviews;
    expect(a?.duo).toMatchObject({
      status: 'compatible',
      datasets: [{ datasetId: general.id, status: 'compatible' }],
    });
    expect(b?.duo.status).toBe('conflict');
    expect(b?.duo.datasets[0]?.findings[0]?.message).toMatch(
      /disease-specific research only; the application is HMB/,
    );
    // The reviewers of site-b see the check with the review.
    expect((await getReview(ctx, drb['site-b'][0]!, b!.id)).duo.status).toBe('conflict');
    const commercial = await submitted({
      datasetIds: [general.id],
      siteIds: ['site-a'],
      intendedUse: { ...draft().intendedUse!, commercial: true, forProfitOrganisation: true },
    });
    expect(commercial.reviews[0]?.duo.status).toBe('conflict');
  });

  it('refuses a cohort the engine cannot run at submission, naming the part', async (t) => {
    if (!hub) return t.skip();
    await expect(
      submitted({
        cohort: {
          ConceptSets: [],
          PrimaryCriteria: { CriteriaList: [{ LocationRegion: { CodesetId: 1 } }] },
        },
      }),
    ).rejects.toThrow(/cohort: .*LocationRegion/);
  });

  it('refuses incomplete submissions and bad DRB configurations with the field named', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const noIrbDoc = await createApplication(ctx, applicant, draft());
    await expect(submitApplication(ctx, applicant, noIrbDoc.id)).rejects.toThrow(/irb.documentAttachmentId/);
    const partial = await createApplication(ctx, applicant, { title: 'only a title' });
    await expect(submitApplication(ctx, applicant, partial.id)).rejects.toThrow(/incomplete: .*purpose/);
    const expired = await createApplication(
      ctx,
      applicant,
      draft({ irb: { ...draft().irb!, expiresOn: '2020-01-01' } }),
    );
    await expect(submitApplication(ctx, applicant, expired.id)).rejects.toThrow(/expired on 2020-01-01/);
    expect(await code(submitApplication(ctx, outsider, partial.id))).toBe('not_found');
    const four = drb['site-a'].slice(0, 4).map((m, i) => ({ userId: m.id, external: i >= 2 }));
    await expect(configureDrb(ctx, admin, 'site-a', { members: four })).rejects.toThrow(/at least 5 members/);
    const oneExternal = drb['site-a'].map((m, i) => ({ userId: m.id, external: i === 0 }));
    await expect(configureDrb(ctx, admin, 'site-a', { members: oneExternal })).rejects.toThrow(/2 external/);
    expect(await code(configureDrb(ctx, applicant, 'site-a', { members: four }))).toBe('forbidden');
  });

  it('checks uploads by their bytes and downloads against the stored checksum', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const app = await createApplication(ctx, applicant, draft());
    const upload = (bytes: Uint8Array, contentType: string) =>
      uploadAttachment(ctx, applicant, app.id, { kind: 'other', fileName: 'x', contentType, bytes });
    await expect(upload(Buffer.from('MZ\x90\x00binary'), 'application/pdf')).rejects.toThrow(
      /none of the accepted types/,
    );
    await expect(upload(Buffer.from('plain words'), 'application/pdf')).rejects.toThrow(
      /content is plain text/,
    );
    await expect(upload(PDF, 'application/x-msdownload')).rejects.toThrow(/not accepted/);
    await expect(upload(Buffer.alloc(0), 'text/plain')).rejects.toThrow(/empty/);
    expect(await code(upload(Buffer.alloc(20 * 1024 * 1024 + 1, 0x41), 'text/plain'))).toBe(
      'payload_too_large',
    );
    expect(
      await code(
        uploadAttachment(ctx, outsider, app.id, {
          kind: 'other',
          fileName: 'x',
          contentType: 'text/plain',
          bytes: Buffer.from('hi'),
        }),
      ),
    ).toBe('not_found');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const stored = await upload(png, 'image/png');
    const { bytes } = await downloadAttachment(ctx, applicant, app.id, stored.id);
    expect(Buffer.compare(bytes, png)).toBe(0);
    // A file changed on disk is refused, not served.
    const file = path.join(hub.dataDir, 'attachments', stored.sha256.slice(0, 2), stored.sha256);
    await fs.writeFile(file, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 9, 9, 9]));
    await expect(downloadAttachment(ctx, applicant, app.id, stored.id)).rejects.toThrow(
      /does not match its checksum/,
    );
    const audited = await listAudit(ctx, { targetType: 'application', targetId: app.id, limit: 100 });
    expect(audited.filter((e) => e.action === 'attachment.download')).toHaveLength(1);
  });

  describe('linked feasibility query', () => {
    const diabetes = (minAge: number) =>
      buildCohort({
        entry: [{ domain: 'condition', conceptIds: [201826] }],
        age: { min: minAge },
      }) as Record<string, unknown>;
    type SiteAnswer = { final: FeasibilityCount; rules?: FeasibilityRuleAttrition[] };

    /** A query of `owner` that the test's sites answer (or leave running), settled when answered. */
    async function feasibility(
      owner: AccessUser,
      definition: Record<string, unknown>,
      answers?: Record<string, SiteAnswer>,
    ) {
      const ctx = hub!.ctx;
      const query = await submitFeasibilityQuery(ctx, owner, {
        definition,
        siteIds: ['site-a', 'site-b'],
        timeoutSeconds: 600,
      });
      if (!answers) return query;
      const tasks = await ctx.db
        .selectFrom('feasibility_site')
        .select(['site_id', 'task_id'])
        .where('query_id', '=', query.id)
        .execute();
      for (const { site_id, task_id } of tasks) {
        const given = answers[site_id]!;
        await recordTaskResult(ctx, site_id, task_id!, {
          outcome: 'done',
          result: {
            queryId: query.id,
            baseCount: given.rules?.[0]?.personCount ?? given.final,
            finalCount: given.final,
            inclusionRules: given.rules ?? [],
            disclosure: { minCellCount: 10, rounding: 10 },
            computedAt: new Date().toISOString(),
            elapsedMs: 3,
          },
        });
      }
      return getFeasibilityQuery(ctx, owner, query.id, 10);
    }

    let settled: Awaited<ReturnType<typeof feasibility>>;

    beforeAll(async () => {
      if (!hub) return;
      settled = await feasibility(applicant, diabetes(18), {
        'site-a': {
          final: 120,
          rules: [{ ruleSequence: 0, name: 'age ≥ 18', personCount: 130, remainingCount: 120 }],
        },
        'site-b': {
          final: '<10',
          rules: [{ ruleSequence: 0, name: 'age ≥ 18', personCount: 20, remainingCount: '<10' }],
        },
      });
    });

    it('links only the applicant’s own settled, unrefused query of the same cohort', async (t) => {
      if (!hub) return t.skip();
      const ctx = hub.ctx;
      expect(settled.status).toBe('complete');
      const cohort = diabetes(18);
      const refusal = async (queryId: string, overrides: ApplicationDraft = { cohort }) => {
        const error = await createApplication(
          ctx,
          applicant,
          draft({ ...overrides, feasibilityQueryId: queryId }),
        ).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ItdaError);
        expect((error as ItdaError).code).toBe('validation_failed');
        expect((error as ItdaError).details?.issues).toEqual([
          expect.objectContaining({ where: 'body/feasibilityQueryId' }),
        ]);
        return (error as ItdaError).message;
      };
      const othersQuery = await feasibility(outsider, cohort, {
        'site-a': { final: 50 },
        'site-b': { final: 40 },
      });
      expect(othersQuery.status).toBe('complete');
      expect(await refusal(othersQuery.id)).toMatch(/has no feasibility query/);
      const running = await feasibility(applicant, diabetes(30));
      expect(await refusal(running.id, { cohort: diabetes(30) })).toMatch(/still running/);
      // "<10" at site-b, then 0 with another definition: the differencing defence refuses it.
      const refused = await feasibility(applicant, diabetes(19), {
        'site-a': { final: 120 },
        'site-b': { final: 0 },
      });
      expect(refused.status).toBe('refused');
      expect(await refusal(refused.id, { cohort: diabetes(19) })).toMatch(/refused \(differencing\)/);
      expect(await refusal(settled.id, { cohort: diabetes(40) })).toMatch(/is not feasibility query/);
      expect(await refusal('00000000-0000-4000-8000-000000000001')).toMatch(/has no feasibility query/);

      // Without a cohort the application takes the query's definition.
      const taken = await createApplication(
        ctx,
        applicant,
        draft({ cohort: {}, feasibilityQueryId: settled.id }),
      );
      expect(taken.content.cohort).toEqual(cohort);
      expect(taken.cohortHash).toBe(cohortHash(cohort));
      // A linked application's cohort cannot drift from the query's definition; unlinking frees it.
      expect(await code(updateDraft(ctx, applicant, taken.id, { cohort: diabetes(40) }))).toBe(
        'validation_failed',
      );
      const unlinked = await updateDraft(ctx, applicant, taken.id, {
        cohort: diabetes(40),
        feasibilityQueryId: null,
      });
      expect(unlinked.cohortHash).toBe(cohortHash(diabetes(40)));
      const relinked = await updateDraft(ctx, applicant, taken.id, {
        cohort: {},
        feasibilityQueryId: settled.id,
      });
      expect(relinked.cohortHash).toBe(cohortHash(cohort));
      const edits = await listAudit(ctx, { targetType: 'application', targetId: taken.id, limit: 10 });
      expect(edits.at(-1)?.details).toMatchObject({ fields: ['cohort', 'feasibilityQueryId'] });
    });

    it('shows reviewers the counts as the sites disclosed them; outsiders learn nothing', async (t) => {
      if (!hub) return t.skip();
      const ctx = hub.ctx;
      const app = await createApplication(
        ctx,
        applicant,
        draft({ feasibilityQueryId: settled.id, cohort: {} }),
      );
      // Before submission the DRBs have nothing to review.
      expect(await code(getApplicationFeasibility(ctx, drb['site-a'][0]!, app.id))).toBe('not_found');
      const irb = await uploadAttachment(ctx, applicant, app.id, {
        kind: 'irb_approval',
        fileName: 'irb.pdf',
        contentType: 'application/pdf',
        bytes: PDF,
      });
      await updateDraft(ctx, applicant, app.id, { irb: { ...draft().irb!, documentAttachmentId: irb.id } });
      await submitApplication(ctx, applicant, app.id);

      const owners = await getFeasibilityQuery(ctx, applicant, settled.id);
      for (const reader of [drb['site-a'][1]!, drb['site-b'][4]!, admin, applicant]) {
        const shown = await getApplicationFeasibility(ctx, reader, app.id);
        expect(shown).toEqual(owners);
      }
      // A site-a reviewer sees every site's disclosed counts and attrition, "<10" as such.
      const seen = await getApplicationFeasibility(ctx, drb['site-a'][0]!, app.id);
      expect(seen.sites.map((s) => [s.siteId, s.answer?.finalCount])).toEqual([
        ['site-a', 120],
        ['site-b', '<10'],
      ]);
      expect(seen.sites.map((s) => s.answer?.inclusionRules[0]?.remainingCount)).toEqual([120, '<10']);
      expect(seen.total?.display).toBe('≥ 121');

      for (const stranger of [drb['site-c'][0]!, outsider])
        expect(await code(getApplicationFeasibility(ctx, stranger, app.id))).toBe('not_found');
      // The feasibility API itself still shows a query to its owner only.
      expect(await code(getFeasibilityQuery(ctx, drb['site-a'][0]!, settled.id))).toBe('not_found');
      const unlinked = await submitted();
      expect(await code(getApplicationFeasibility(ctx, drb['site-a'][0]!, unlinked.id))).toBe('not_found');
    });
  });
});
