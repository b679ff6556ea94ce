import net from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  castVote,
  configureDrb,
  createApplication,
  getApplication,
  resubmitApplication,
  returnApplication,
  revokePermit,
  submitApplication,
  updateDraft,
  uploadAttachment,
} from '../src/hub/access/service.ts';
import { createUser, type PublicUser } from '../src/hub/auth/service.ts';
import { findUserByEmail } from '../src/hub/auth/store.ts';
import { loadHubConfig } from '../src/hub/config.ts';
import { mailerOf, retryDelayMs } from '../src/hub/notifications/mailer.ts';
import { inbox, notify } from '../src/hub/notifications/service.ts';
import { insertSite } from '../src/hub/sites/store.ts';
import type { InboxPage, NotificationView } from '../src/protocol/notifications.ts';
import { generateSigningKeyPair } from '../src/protocol/signing.ts';
import { HUB_DIALECTS, startTestHub, type TestHub } from './support/hub.ts';
import { signIn } from './support/session.ts';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (ok(value) || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.each(HUB_DIALECTS)('notifications on %s', (dialect) => {
  let hub: TestHub | undefined;
  let url: string;

  beforeAll(async () => {
    hub = await startTestHub(dialect, { seedDemoAccounts: true });
    if (hub) url = await hub.listen();
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('lists my notifications unread first, paged, and marks them read', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const researcher = (await findUserByEmail(ctx.db, 'researcher@itda.demo'))!;
    for (const n of [1, 2, 3])
      await notify(ctx, {
        userIds: [researcher.id, researcher.id],
        kind: 'test.event',
        title: { ko: `알림 ${n}`, en: `Notice ${n}` },
        body: `body ${n}`,
        link: `/x/${n}`,
      });
    const me = await signIn(url, 'researcher@itda.demo');
    const first = await me.json<InboxPage>('GET', '/api/notifications?limit=2');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ total: 3, unread: 3, limit: 2, offset: 0 });
    expect(first.body.items.map((i) => i.title.en)).toEqual(['Notice 3', 'Notice 2']);
    const read = await me.json<NotificationView>(
      'POST',
      `/api/notifications/${first.body.items[0]!.id}/read`,
    );
    expect(read.status).toBe(200);
    expect(read.body.readAt).not.toBeNull();
    expect((await me.json<{ unread: number }>('GET', '/api/notifications/unread-count')).body.unread).toBe(2);
    const all = await me.json<InboxPage>('GET', '/api/notifications?limit=10');
    expect(all.body.items.map((i) => [i.title.en, i.readAt === null])).toEqual([
      ['Notice 2', true],
      ['Notice 1', true],
      ['Notice 3', false],
    ]);
    const second = await me.json<InboxPage>('GET', '/api/notifications?limit=2&offset=2');
    expect(second.body.items.map((i) => i.title.en)).toEqual(['Notice 3']);
    // Another user neither sees nor marks them.
    const other = await signIn(url, 'steward@itda.demo');
    expect((await other.json<InboxPage>('GET', '/api/notifications')).body.total).toBe(0);
    expect((await other.call('POST', `/api/notifications/${first.body.items[1]!.id}/read`)).status).toBe(404);
    expect((await fetch(`${url}/api/notifications`)).status).toBe(401);
  });

  it('tells DRB members an application awaits them and the applicant when it is returned', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const user = (email: string, roles: ('researcher' | 'admin')[] = []) =>
      createUser(ctx, { email, name: email, password: 'long-enough', roles });
    const applicant = await user('pi@notify.test', ['researcher']);
    const admin = await user('admin@notify.test', ['admin']);
    const members: PublicUser[] = [];
    await insertSite(ctx.db, {
      id: 'site-n',
      name: 'site-n',
      publicKey: generateSigningKeyPair().publicKey,
      software: 'test',
      approved: true,
    });
    for (let i = 0; i < 5; i++) members.push(await user(`drb${i}@notify.test`));
    await configureDrb(ctx, admin, 'site-n', {
      members: members.map((m, i) => ({ userId: m.id, external: i >= 3 })),
    });
    const app = await createApplication(ctx, applicant, {
      title: '알림 시험 Notification test',
      purpose: 'p',
      researchQuestion: 'q',
      intendedUse: {
        purpose: 'GRU',
        diseaseConceptIds: [],
        commercial: false,
        forProfitOrganisation: false,
        methodsResearch: false,
        geneticStudy: false,
      },
      members: [],
      datasetIds: [],
      siteIds: ['site-n'],
      cohort: { ConceptSets: [], PrimaryCriteria: { CriteriaList: [] } },
      variables: { tables: [], conceptSets: [] },
      period: { start: '2026-01-01', end: '2099-12-31' },
      analysisMode: 'federated_analysis',
      irb: { number: 'IRB-1', institution: 'U', approvedOn: '2026-01-01', expiresOn: '2099-01-01' },
      dataManagementPlan: 'aggregates only',
      review: { mode: 'separate' },
    });
    const irb = await uploadAttachment(ctx, applicant, app.id, {
      kind: 'irb_approval',
      fileName: 'irb.pdf',
      contentType: 'application/pdf',
      bytes: PDF,
    });
    await updateDraft(ctx, applicant, app.id, {
      irb: {
        number: 'IRB-1',
        institution: 'U',
        approvedOn: '2026-01-01',
        expiresOn: '2099-01-01',
        documentAttachmentId: irb.id,
      },
    });
    const submitted = await submitApplication(ctx, applicant, app.id);
    const kinds = async (id: string) =>
      (await inbox(ctx, id, { limit: 20, offset: 0 })).items.map((i) => i.kind);
    for (const member of members) expect(await kinds(member.id)).toEqual(['review.vote_needed']);
    expect(await kinds(applicant.id)).toEqual([]);

    await castVote(ctx, members[0]!, submitted.reviews[0]!.id, {
      vote: 'approve',
      comment: '',
      conditions: [],
    });
    await returnApplication(ctx, members[1]!, app.id, 'IRB 번호를 확인해 주세요');
    const applicantInbox = await inbox(ctx, applicant.id, { limit: 20, offset: 0 });
    expect(applicantInbox.items.map((i) => i.kind)).toEqual([
      'application.returned',
      'application.under_review',
    ]);
    expect(applicantInbox.items[0]).toMatchObject({
      link: `/applications/${app.id}`,
      body: expect.stringContaining('IRB 번호를 확인해 주세요'),
    });

    // Resubmitted: the DRB hears again; three approvals (the quorum) issue a permit.
    const resubmitted = await resubmitApplication(ctx, applicant, app.id);
    expect(await kinds(members[4]!.id)).toEqual(['review.vote_needed', 'review.vote_needed']);
    for (const member of members.slice(0, 3))
      await castVote(ctx, member, resubmitted.reviews[0]!.id, {
        vote: 'approve',
        comment: '',
        conditions: [],
      });
    const approved = await getApplication(ctx, applicant, app.id);
    expect(approved.state).toBe('approved');
    const permitId = approved.permits[0]!.id;
    await revokePermit(ctx, admin, permitId, 'protocol deviation');
    const latest = await inbox(ctx, applicant.id, { limit: 3, offset: 0 });
    expect(latest.items.map((i) => i.kind)).toEqual([
      'permit.revoked',
      'permit.issued',
      'application.approved',
    ]);
    expect(latest.items[0]).toMatchObject({
      link: `/permits/${permitId}`,
      body: expect.stringContaining('protocol deviation'),
    });
  });
});

describe('notification e-mail configuration', () => {
  it('needs a From address with an SMTP URL, and an smtp:// or smtps:// URL', () => {
    expect(
      loadHubConfig({ ITDA_SMTP_URL: 'smtp://u:p@mail.example:587', ITDA_SMTP_FROM: 'hub@example.org' }).smtp,
    ).toEqual({
      url: 'smtp://u:p@mail.example:587',
      from: 'hub@example.org',
    });
    expect(loadHubConfig({}).smtp).toBeUndefined();
    expect(() => loadHubConfig({ ITDA_SMTP_URL: 'smtp://mail.example' })).toThrow(/ITDA_SMTP_FROM/);
    expect(() =>
      loadHubConfig({ ITDA_SMTP_URL: 'http://mail.example', ITDA_SMTP_FROM: 'hub@example.org' }),
    ).toThrow(/ITDA_SMTP_URL/);
  });
});

describe.each(HUB_DIALECTS)('notification e-mail on %s', (dialect) => {
  let hub: TestHub | undefined;
  let port: number;
  let smtp: SMTPServer | undefined;
  const received: { from: string; to: string[]; data: string; user: string | undefined }[] = [];

  beforeAll(async () => {
    port = await freePort();
    hub = await startTestHub(dialect, {
      smtp: { url: `smtp://mailer:secret@127.0.0.1:${port}`, from: 'itda@hub.test' },
    });
  });
  afterAll(async () => {
    await hub?.dispose();
    await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  });

  it('keeps a failed send for later and delivers it once the server is up', async (t) => {
    if (!hub) return t.skip();
    const ctx = hub.ctx;
    const user = await createUser(ctx, {
      email: 'mail@notify.test',
      name: 'M',
      password: 'long-enough',
      roles: [],
    });
    // No SMTP server yet: notify succeeds, the send fails and is kept for a retry.
    await notify(ctx, {
      userIds: [user.id],
      kind: 'test.mail',
      title: { ko: '메일 시험', en: 'Mail test' },
      body: 'Hello from the hub',
      link: '/matching',
    });
    const emailState = () =>
      ctx.db
        .selectFrom('notification')
        .select(['email_status', 'email_attempts', 'email_error', 'email_next_at'])
        .where('user_id', '=', user.id)
        .executeTakeFirstOrThrow();
    const failed = await until(emailState, (s) => s.email_attempts >= 1);
    expect(failed).toMatchObject({ email_status: 'pending', email_attempts: 1 });
    expect(failed.email_error).toMatch(/ECONNREFUSED|connect/i);
    expect(failed.email_next_at!.getTime()).toBeGreaterThan(Date.now());

    smtp = new SMTPServer({
      authOptional: true,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onAuth(auth, _session, callback) {
        callback(null, { user: auth.username });
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            data: Buffer.concat(chunks).toString('utf8'),
            user: session.user as string | undefined,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => smtp!.listen(port, '127.0.0.1', resolve));
    // Not yet due: nothing goes out before the retry time.
    expect(await mailerOf(ctx)!.deliverDue(new Date())).toEqual({ sent: 0, failed: 0 });
    const result = await mailerOf(ctx)!.deliverDue(new Date(Date.now() + retryDelayMs(1) + 1000));
    expect(result).toEqual({ sent: 1, failed: 0 });
    expect(await emailState()).toMatchObject({ email_status: 'sent', email_attempts: 1, email_error: null });
    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ from: 'itda@hub.test', to: ['mail@notify.test'], user: 'mailer' });
    expect(received[0]!.data).toContain('Hello from the hub');
    expect(received[0]!.data).toMatch(/Subject: .*Mail test|Subject: =\?UTF-8/);
  });
});
