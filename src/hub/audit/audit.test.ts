import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { audit, verifyAuditLog } from './service.ts';

describe.each(HUB_DIALECTS)('audit log on %s', (dialect) => {
  let hub: TestHub | undefined;
  beforeEach(async () => {
    hub = await startTestHub(dialect);
    if (!hub) return;
    for (let i = 0; i < 6; i++) {
      await audit(hub.ctx, {
        actorType: 'user',
        actorId: `user-${i}`,
        action: 'test.event',
        targetType: 'thing',
        targetId: String(i),
        details: { i, note: '한국어 ok', ratio: 0.1 + 0.2 },
      });
    }
  });
  afterEach(async () => {
    await hub?.dispose();
  });

  const verify = () => verifyAuditLog(hub!.ctx.db, hub!.ctx.keys.publicKey);

  it('verifies an untouched log', async (t) => {
    if (!hub) return t.skip();
    expect(await verify()).toMatchObject({ ok: true, entries: 6 });
  });

  it('keeps appends from concurrent requests on one chain', async (t) => {
    if (!hub) return t.skip();
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        audit(hub!.ctx, { actorType: 'system', action: 'test.concurrent', details: { i } }),
      ),
    );
    expect(await verify()).toMatchObject({ ok: true, entries: 26 });
  });

  it('names an edited entry', async (t) => {
    if (!hub) return t.skip();
    await sql`update audit_entry set details = '{"i":3,"note":"changed"}' where seq = 4`.execute(hub.ctx.db);
    expect(await verify()).toMatchObject({
      ok: false,
      firstBadSeq: 4,
      reason: expect.stringMatching(/edited/),
    });
  });

  it('names the entry after a deleted one', async (t) => {
    if (!hub) return t.skip();
    await sql`delete from audit_entry where seq = 3`.execute(hub.ctx.db);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 4, position: 2 });
  });

  it('detects reordered entries', async (t) => {
    if (!hub) return t.skip();
    await sql`update audit_entry set seq = -1 where seq = 2`.execute(hub.ctx.db);
    await sql`update audit_entry set seq = 2 where seq = 5`.execute(hub.ctx.db);
    await sql`update audit_entry set seq = 5 where seq = -1`.execute(hub.ctx.db);
    expect(await verify()).toMatchObject({ ok: false, position: 1 });
  });

  it('detects an actor changed after the fact', async (t) => {
    if (!hub) return t.skip();
    await sql`update audit_entry set actor_id = 'someone-else' where seq = 6`.execute(hub.ctx.db);
    expect(await verify()).toMatchObject({ ok: false, firstBadSeq: 6 });
  });
});
