import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { listAudit } from '../audit/service.ts';
import { createUser } from '../auth/service.ts';
import { applicationHistory } from './history.ts';
import {
  type AccessUser,
  closeApplication,
  createApplication,
  updateDraft,
  uploadAttachment,
} from './service.ts';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n');

describe.each(HUB_DIALECTS)('application history on %s', (dialect) => {
  let hub: TestHub | undefined;
  let applicant: AccessUser;
  let outsider: AccessUser;
  let applicationId: string;

  beforeAll(async () => {
    hub = await startTestHub(dialect);
    if (!hub) return;
    const ctx = hub.ctx;
    applicant = await createUser(ctx, {
      email: 'pi@test',
      name: 'pi',
      password: 'long-enough',
      roles: ['researcher'],
    });
    outsider = await createUser(ctx, {
      email: 'other@test',
      name: 'other',
      password: 'long-enough',
      roles: ['researcher'],
    });
    const created = await createApplication(ctx, applicant, { title: 'history' });
    applicationId = created.id;
    await updateDraft(ctx, applicant, applicationId, { purpose: 'p', researchQuestion: 'q' });
    await uploadAttachment(ctx, applicant, applicationId, {
      kind: 'irb_approval',
      fileName: 'irb.pdf',
      contentType: 'application/pdf',
      bytes: PDF,
    });
    // An unrelated application's events must not show up in this one's timeline.
    await createApplication(ctx, outsider, { title: 'someone else' });
    await closeApplication(ctx, applicant, applicationId);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('lists creation, edits, uploads and state changes of the application, oldest first', async (t) => {
    if (!hub) return t.skip();
    const events = await applicationHistory(hub.ctx, applicant, applicationId);
    expect(events.map((e) => e.action)).toEqual([
      'application.create',
      'application.edit',
      'attachment.upload',
      'application.withdraw',
    ]);
    expect(events[1]!.fields).toEqual(['purpose', 'researchQuestion']);
    expect(events[2]!.attachment).toMatchObject({ kind: 'irb_approval', size: PDF.length });
    expect(events[2]!.attachment!.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(events[3]).toMatchObject({ from: 'draft', to: 'closed', actorId: applicant.id });
    expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b));
  });

  it('is hidden from someone who may not read the application', async (t) => {
    if (!hub) return t.skip();
    const refused = await applicationHistory(hub.ctx, outsider, applicationId).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ItdaError);
    expect((refused as ItdaError).code).toBe('not_found');
  });

  it('filters the audit log by actor', async (t) => {
    if (!hub) return t.skip();
    const mine = await listAudit(hub.ctx, { actorId: outsider.id });
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.every((e) => e.actorId === outsider.id)).toBe(true);
    const all = await listAudit(hub.ctx, {});
    expect(all.some((e) => e.actorId === applicant.id)).toBe(true);
  });
});
