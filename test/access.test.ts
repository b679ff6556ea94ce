/**
 * The access workflow end to end on the demo network: a researcher applies to two
 * hospitals with an IRB letter, both DRBs vote, the hub issues a signed permit, and a
 * permitted cohort_count runs at both sites — while tasks naming an expired or revoked
 * permit, another site, or a forged permit are refused by the site itself.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertTask } from '../src/hub/jobs/store.ts';
import { cohortHash, type PermitBody, type SignedPermit } from '../src/protocol/access.ts';
import { generateSigningKeyPair, loadPrivateKey, signValue } from '../src/protocol/signing.ts';
import type { TaskBody } from '../src/protocol/wire.ts';
import { commonConditionOver65, loadFeasibilityFixture } from '../src/site/feasibility/test-fixture.ts';
import { REVOKED_PERMITS_FILE } from '../src/site/node/permits.ts';
import { readTaskLog } from '../src/site/node/task-log.ts';
import { startTestDemo, type TestDemo } from './support/demo.ts';
import { signIn, type TestSession } from './support/session.ts';

const FIXTURES = {
  'site-1': { old: 26, young: 11, rare: 0 },
  'site-2': { old: 4, young: 3, rare: 0 },
  'site-3': { old: 12, young: 0, rare: 0 },
} as const;
const PDF = Buffer.from(
  '%PDF-1.7\n% IRB approval letter, Hangang University IRB\n1 0 obj <<>> endobj\n%%EOF\n',
);

interface TaskView {
  id: string;
  siteId: string;
  status: string;
  result: { finalCount: number | '<10'; baseCount: number | '<10'; cohortHash: string } | null;
  error: { code: string; message: string } | null;
}

describe('access workflow on the demo network', () => {
  let network: TestDemo;
  let researcher: TestSession;
  let admin: TestSession;
  const drb = (site: 1 | 2, letter: string) => signIn(network.url, `drb${site}-${letter}@itda.demo`);
  let applicationId: string;
  let feasibilityQueryId: string;
  let permit: SignedPermit;

  beforeAll(async () => {
    network = await startTestDemo('itda-access-', {
      pollWaitSeconds: 2,
      patients: 30,
      hub: { siteOfflineAfterSeconds: 2 },
    });
    let first = 910_000_000;
    for (const [siteId, sizes] of Object.entries(FIXTURES)) {
      await loadFeasibilityFixture(network.sites.get(siteId)!.store, sizes, first);
      first += 1000;
    }
    researcher = await signIn(network.url, 'researcher@itda.demo');
    admin = await signIn(network.url, 'admin@itda.demo');
  }, 600_000);
  afterAll(async () => {
    await network?.dispose();
  });

  async function awaitTask(id: string): Promise<TaskView> {
    const { status, body } = await admin.json<TaskView>('GET', `/api/tasks/${id}?wait=30`);
    expect(status).toBe(200);
    return body;
  }

  /** Puts a task straight into the queue, as a compromised or buggy hub might. */
  async function sendBehindTheHubsBack(siteId: string, permitToCarry: SignedPermit): Promise<TaskView> {
    const ctx = network.hub.ctx;
    const now = Date.now();
    const body = {
      type: 'cohort_count',
      payload: { cohort: commonConditionOver65() },
      id: randomUUID(),
      siteId,
      permitId: permitToCarry.body.permitId,
      permit: permitToCarry,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 600_000).toISOString(),
    } as TaskBody;
    const signed = signValue(ctx.keys.privateKey, ctx.keys.publicKey, body);
    await insertTask(ctx.db, {
      id: body.id,
      siteId,
      type: body.type,
      permitId: body.permitId,
      signed,
      expiresAt: new Date(body.expiresAt),
    });
    ctx.tasks.notify(siteId);
    return awaitTask(body.id);
  }

  const hubSigned = (body: PermitBody): SignedPermit =>
    signValue(network.hub.ctx.keys.privateKey, network.hub.ctx.keys.publicKey, body) as SignedPermit;

  it('configures every demo site’s DRB from the seeded accounts (5 members, 2 external)', async () => {
    for (const site of ['site-1', 'site-2', 'site-3']) {
      const { status, body } = await admin.json<{ quorum: number; members: { external: boolean }[] }>(
        'GET',
        `/api/sites/${site}/drb`,
      );
      expect(status).toBe(200);
      expect(body.members).toHaveLength(5);
      expect(body.members.filter((m) => m.external)).toHaveLength(2);
      expect(body.quorum).toBe(3);
    }
  });

  it('takes an application from a saved draft with an IRB upload to submission', async () => {
    const created = await researcher.json<{ id: string; state: string }>('POST', '/api/applications', {
      title: '고령 환자의 흔한 질환 코호트 Common condition in older patients',
    });
    expect(created.status).toBe(201);
    expect(created.body.state).toBe('draft');
    applicationId = created.body.id;
    // The sizing query the application links: its counts go to the reviewers.
    const query = await researcher.json<{ id: string }>('POST', '/api/feasibility', {
      name: 'older patients, both hospitals',
      definition: commonConditionOver65(),
      siteIds: ['site-1', 'site-2'],
    });
    expect(query.status).toBe(202);
    feasibilityQueryId = query.body.id;
    const sized = await researcher.json<{ status: string }>(
      'GET',
      `/api/feasibility/${feasibilityQueryId}?wait=30`,
    );
    expect(sized.body.status).toBe('complete');
    // Autosave: partial updates, each keeping what was saved before.
    const saved = await researcher.json<{ content: Record<string, unknown> }>(
      'PATCH',
      `/api/applications/${applicationId}`,
      {
        purpose: 'Size the cohort before a federated model',
        researchQuestion: 'How many patients aged 65+ carry the condition at each hospital?',
        intendedUse: { purpose: 'HMB' },
        members: [{ name: '김연구', role: 'pi' }],
        siteIds: ['site-1', 'site-2'],
        datasetIds: [],
        cohort: commonConditionOver65(),
        feasibilityQueryId,
      },
    );
    expect(saved.status).toBe(200);
    expect(saved.body.content).toMatchObject({ title: expect.stringContaining('Common condition') });
    await researcher.json('PATCH', `/api/applications/${applicationId}`, {
      variables: { tables: ['condition_occurrence'], conceptSets: [] },
      period: { start: '2026-01-01', end: '2099-12-31' },
      analysisMode: 'federated_analysis',
      dataManagementPlan: 'Counts only; nothing at row level leaves a hospital.',
      review: { mode: 'separate' },
    });

    const notAllowed = await fetch(
      `${network.url}/api/applications/${applicationId}/attachments?kind=irb_approval&name=x.exe`,
      {
        method: 'POST',
        headers: researcher.headers({ 'content-type': 'application/pdf' }),
        body: Buffer.from('MZ\x90\x00 not a pdf'),
      },
    );
    expect(notAllowed.status).toBe(400);
    expect(((await notAllowed.json()) as { detail: string }).detail).toMatch(/none of the accepted types/);

    const upload = await fetch(
      `${network.url}/api/applications/${applicationId}/attachments?kind=irb_approval&name=${encodeURIComponent('IRB 승인서.pdf')}`,
      { method: 'POST', headers: researcher.headers({ 'content-type': 'application/pdf' }), body: PDF },
    );
    expect(upload.status).toBe(201);
    const attachment = (await upload.json()) as { id: string; sha256: string; size: number };
    expect(attachment.size).toBe(PDF.length);

    const early = await researcher.json<{ detail: string }>(
      'POST',
      `/api/applications/${applicationId}/submit`,
    );
    expect(early.status).toBe(400);
    expect(early.body.detail).toMatch(/irb/);
    await researcher.json('PATCH', `/api/applications/${applicationId}`, {
      irb: {
        number: 'HG-IRB-2026-0042',
        institution: '한강대학교 생명윤리위원회',
        approvedOn: '2026-01-15',
        expiresOn: '2099-01-14',
        documentAttachmentId: attachment.id,
      },
    });
    const submitted = await researcher.json<{ state: string; reviews: { siteId: string }[] }>(
      'POST',
      `/api/applications/${applicationId}/submit`,
    );
    expect(submitted.status).toBe(200);
    expect(submitted.body.state).toBe('submitted');
    expect(submitted.body.reviews.map((r) => r.siteId)).toEqual(['site-1', 'site-2']);

    const download = await (await drb(1, 'a')).call(
      'GET',
      `/api/applications/${applicationId}/attachments/${attachment.id}`,
    );
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.compare(Buffer.from(await download.arrayBuffer()), PDF)).toBe(0);
  });

  it('shows the linked feasibility counts to the requested sites’ DRBs, as the sites released them', async () => {
    const own = await researcher.json<unknown>('GET', `/api/feasibility/${feasibilityQueryId}`);
    const path = `/api/applications/${applicationId}/feasibility`;
    for (const reviewer of [await drb(1, 'a'), await drb(2, 'e'), admin]) {
      const shown = await reviewer.json<unknown>('GET', path);
      expect(shown.status).toBe(200);
      expect(shown.body).toEqual(own.body);
    }
    const { body } = await (await drb(2, 'a')).json<{
      sites: { siteId: string; answer: { finalCount: number | string } | null }[];
    }>('GET', path);
    // 26 persons at site-1 leave it rounded to 30; site-2's 4 leave it as "<10".
    expect(body.sites.map((s) => [s.siteId, s.answer?.finalCount])).toEqual([
      ['site-1', 30],
      ['site-2', '<10'],
    ]);
    const unrelated = await signIn(network.url, 'drb3-a@itda.demo');
    expect((await unrelated.json('GET', path)).status).toBe(404);
    expect((await (await signIn(network.url, 'company@itda.demo')).json('GET', path)).status).toBe(404);
    // The feasibility API itself stays the researcher's: the DRB member is turned away there.
    const direct = await (await drb(1, 'a')).json('GET', `/api/feasibility/${feasibilityQueryId}`);
    expect(direct.status).toBe(403);
  });

  it('keeps votes to the site’s own DRB and reviews to the site’s own people', async () => {
    const reviewOf = async (session: TestSession, site: string) => {
      const { body } = await session.json<{ reviews: { id: string; applicationId: string }[] }>(
        'GET',
        `/api/sites/${site}/reviews`,
      );
      return body.reviews.find((r) => r.applicationId === applicationId)!;
    };
    const siteTwoReview = await reviewOf(await drb(2, 'a'), 'site-2');
    const vote = { vote: 'approve', comment: '' };
    expect((await researcher.json('POST', `/api/reviews/${siteTwoReview.id}/votes`, vote)).status).toBe(403);
    expect(
      (await (await drb(1, 'a')).json('POST', `/api/reviews/${siteTwoReview.id}/votes`, vote)).status,
    ).toBe(403);
    const steward1 = await signIn(network.url, 'steward1@itda.demo');
    expect((await steward1.json('GET', '/api/sites/site-2/reviews')).status).toBe(403);
    expect((await steward1.json('GET', `/api/reviews/${siteTwoReview.id}`)).status).toBe(403);
    expect((await steward1.json('GET', '/api/sites/site-1/reviews')).status).toBe(200);
    // Nobody approves by hand: approval follows from the votes.
    expect((await researcher.json('POST', `/api/applications/${applicationId}/approve`)).status).toBe(404);
  });

  it('issues a signed permit once both DRBs approved, with the conditions they set', async () => {
    const reviews = (
      await researcher.json<{ reviews: { id: string; siteId: string }[] }>(
        'GET',
        `/api/applications/${applicationId}`,
      )
    ).body.reviews;
    const review = (site: string) => reviews.find((r) => r.siteId === site)!.id;
    const cast = async (site: 1 | 2, letter: string, vote: Record<string, unknown>) => {
      const reply = await (await drb(site, letter)).json<{ decision: string }>(
        'POST',
        `/api/reviews/${review(`site-${site}`)}/votes`,
        { comment: '', ...vote },
      );
      expect(reply.status, JSON.stringify(reply.body)).toBe(200);
      return reply.body.decision;
    };
    await cast(1, 'a', { vote: 'approve' });
    await cast(1, 'd', {
      vote: 'approve_with_conditions',
      conditions: ['publish counts aggregated over both sites only'],
    });
    expect(await cast(1, 'e', { vote: 'approve' })).toBe('approved_with_conditions');
    await cast(2, 'a', { vote: 'approve' });
    // Below the quorum of 3 nothing is decided; then the majority of votes cast decides.
    expect(await cast(2, 'b', { vote: 'reject', comment: 'small site' })).toBe('pending');
    expect(await cast(2, 'c', { vote: 'approve' })).toBe('approved');

    const { body } = await researcher.json<{
      state: string;
      permits: { id: string; status: string; permit: SignedPermit }[];
    }>('GET', `/api/applications/${applicationId}`);
    expect(body.state).toBe('approved');
    expect(body.permits).toHaveLength(1);
    expect(body.permits[0]!.status).toBe('active');
    permit = body.permits[0]!.permit;
    expect(permit.body).toMatchObject({
      applicationId,
      sites: ['site-1', 'site-2'],
      cohortHash: cohortHash(commonConditionOver65()),
      allowedAnalyses: ['cohort_count'],
      conditions: [{ siteId: 'site-1', condition: 'publish counts aggregated over both sites only' }],
      notAfter: '2099-01-14T23:59:59.999Z',
    });
  });

  it('runs the permitted cohort_count at both sites: exact counts, 1–9 still "<10"', async () => {
    const { status, body } = await researcher.json<{ tasks: TaskView[] }>(
      'POST',
      `/api/permits/${permit.body.permitId}/tasks`,
      {
        type: 'cohort_count',
      },
    );
    expect(status).toBe(200);
    const results = await Promise.all(body.tasks.map((t) => awaitTask(t.id)));
    expect(results.map((t) => [t.siteId, t.status])).toEqual([
      ['site-1', 'done'],
      ['site-2', 'done'],
    ]);
    // Exact (a feasibility answer would say 30): 26 persons aged 65+ of 37 with the condition.
    expect(results[0]!.result).toMatchObject({
      finalCount: 26,
      baseCount: 37,
      cohortHash: permit.body.cohortHash,
    });
    expect(results[1]!.result).toMatchObject({ finalCount: '<10', baseCount: '<10' });
    // Another researcher may not run anything under this permit.
    const company = await signIn(network.url, 'company@itda.demo');
    expect(
      (await company.json('POST', `/api/permits/${permit.body.permitId}/tasks`, { type: 'cohort_count' }))
        .status,
    ).toBe(404);
  });

  it('is refused by the site for another site, an expired permit or a forged one, even when the hub sends it', async () => {
    const otherSite = await sendBehindTheHubsBack('site-3', permit);
    expect(otherSite.status).toBe('refused');
    expect(otherSite.error).toMatchObject({
      code: 'permit_invalid',
      message: expect.stringMatching(/does not name site site-3/),
    });

    const expired = hubSigned({
      ...permit.body,
      permitId: randomUUID(),
      notAfter: new Date(Date.now() - 60_000).toISOString(),
    });
    expect((await sendBehindTheHubsBack('site-1', expired)).error).toMatchObject({ code: 'permit_expired' });

    const rogue = generateSigningKeyPair();
    const forgedBody = { ...permit.body, permitId: randomUUID(), sites: ['site-1', 'site-2', 'site-3'] };
    const forged = {
      ...signValue(loadPrivateKey(rogue.privateKeyPem), rogue.publicKey, forgedBody),
      keyId: permit.keyId,
    } as SignedPermit;
    const forgedTask = await sendBehindTheHubsBack('site-3', forged);
    expect(forgedTask.status).toBe('refused');
    expect(forgedTask.error).toMatchObject({
      code: 'permit_invalid',
      message: expect.stringMatching(/signature/),
    });

    // The site's own log records each refusal.
    const log = await readTaskLog(path.join(network.dir, 'site-3'));
    expect(log.filter((e) => e.action === 'task.refused').map((e) => e.targetId)).toEqual(
      expect.arrayContaining([otherSite.id, forgedTask.id]),
    );
  });

  it('revokes the permit: the hub stops sending, and the site refuses it after its next poll', async () => {
    const revoke = await (await drb(2, 'a')).json<{ status: string }>(
      'POST',
      `/api/permits/${permit.body.permitId}/revoke`,
      { reason: 'a participant withdrew consent' },
    );
    expect(revoke.status).toBe(200);
    expect(revoke.body.status).toBe('revoked');
    const refused = await researcher.json<{ code: string }>(
      'POST',
      `/api/permits/${permit.body.permitId}/tasks`,
      {
        type: 'cohort_count',
      },
    );
    expect([refused.status, refused.body.code]).toEqual([403, 'permit_invalid']);

    // The revocation rides on the poll replies and is kept on disk at the site.
    const revokedAt = path.join(network.dir, 'site-1', REVOKED_PERMITS_FILE);
    const deadline = Date.now() + 20_000;
    let kept: string[] = [];
    while (Date.now() < deadline) {
      kept = await fs
        .readFile(revokedAt, 'utf8')
        .then((t) => JSON.parse(t) as string[])
        .catch(() => []);
      if (kept.includes(permit.body.permitId)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(kept).toContain(permit.body.permitId);
    const task = await sendBehindTheHubsBack('site-1', permit);
    expect(task.status).toBe('refused');
    expect(task.error).toMatchObject({ code: 'permit_invalid', message: expect.stringMatching(/revoked/) });
  });

  it('records every step in the audit log, and the chain verifies', async () => {
    const { body } = await admin.json<{ entries: { action: string; targetId: string | null }[] }>(
      'GET',
      `/api/audit?targetType=application&targetId=${applicationId}&limit=1000`,
    );
    const actions = body.entries.map((e) => e.action);
    for (const action of [
      'application.create',
      'application.edit',
      'attachment.upload',
      'attachment.download',
      'application.submit',
      'application.begin_review',
      'application.approve',
    ])
      expect(actions, action).toContain(action);
    const verdict = await admin.json<{ ok: boolean }>('POST', '/api/audit/verify');
    expect(verdict.body.ok).toBe(true);
  });
});
