import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { audit, chainPendingAudit, flushAudit, verifyAuditLog } from './service.ts';

/** A hub on the dialect with six audit entries already appended. */
async function hubWithEntries(dialect: (typeof HUB_DIALECTS)[number]): Promise<TestHub | undefined> {
  const hub = await startTestHub(dialect);
  if (!hub) return undefined;
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
  await flushAudit(hub.ctx);
  return hub;
}

describe.each(HUB_DIALECTS)('audit log on %s', (dialect) => {
  let hub: TestHub | undefined;
  beforeEach(async () => {
    hub = await hubWithEntries(dialect);
  });
  afterEach(async () => {
    await hub?.dispose();
  });

  const verify = async () => {
    await chainPendingAudit(hub!.ctx.db, hub!.ctx.keys.privateKey);
    return verifyAuditLog(hub!.ctx.db, hub!.ctx.keys.publicKey);
  };

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

  it('keeps concurrent transactions on one gap-free chain, dropping rolled-back ones', async (t) => {
    if (!hub) return t.skip();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) =>
        hub!.ctx.db.transaction().execute(async (trx) => {
          await audit(
            hub!.ctx,
            { actorType: 'system', action: 'test.trx', targetId: `t${i}`, details: { step: 1 } },
            trx,
          );
          await sql`select pg_sleep(${(i % 4) / 200})`.execute(trx);
          await audit(
            hub!.ctx,
            { actorType: 'system', action: 'test.trx', targetId: `t${i}`, details: { step: 2 } },
            trx,
          );
          if (i % 3 === 0) throw new Error('roll back');
        }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(4);
    expect(await verify()).toMatchObject({ ok: true, entries: 6 + 8 * 2 });
    const rows = await sql<{ target_id: string; step: number }>`
      select target_id, (details->>'step')::int as step from audit_entry where action = 'test.trx' order by seq`.execute(
      hub.ctx.db,
    );
    const committed = rows.rows.map((row) => row.target_id);
    expect(new Set(committed)).toEqual(new Set(['t1', 't2', 't4', 't5', 't7', 't8', 't10', 't11']));
    // One transaction's entries stay together and in the order it wrote them.
    for (let k = 0; k < rows.rows.length; k += 2) {
      expect(rows.rows[k + 1]!.target_id).toBe(rows.rows[k]!.target_id);
      expect([rows.rows[k]!.step, rows.rows[k + 1]!.step]).toEqual([1, 2]);
    }
  });

  it('picks up entries another writer appended behind its back', async (t) => {
    if (!hub) return t.skip();
    const inHub = () =>
      hub!.ctx.db
        .transaction()
        .execute((trx) => audit(hub!.ctx, { actorType: 'system', action: 'test.hub' }, trx));
    await inHub();
    // A plain Kysely has no commit hooks, like another process (the CLI) writing the same chain.
    const elsewhere = hub.ctx.db.withoutPlugins();
    await elsewhere
      .transaction()
      .execute((trx) => audit(hub!.ctx, { actorType: 'system', action: 'test.elsewhere' }, trx));
    await inHub();
    await Promise.all([inHub(), inHub()]);
    expect(await verify()).toMatchObject({ ok: true, entries: 11 });
  });

  it('chains what a stopped writer left pending, each batch once and in order', async (t) => {
    if (!hub) return t.skip();
    // Batches committed without a chainer running, as a hub that stopped before linking them leaves.
    const elsewhere = hub.ctx.db.withoutPlugins();
    for (const i of [1, 2, 3])
      await elsewhere.transaction().execute(async (trx) => {
        await audit(
          hub!.ctx,
          { actorType: 'system', action: 'test.left', targetId: `b${i}`, details: { step: 1 } },
          trx,
        );
        await audit(
          hub!.ctx,
          { actorType: 'system', action: 'test.left', targetId: `b${i}`, details: { step: 2 } },
          trx,
        );
      });
    const [first, second] = await Promise.all([
      chainPendingAudit(hub.ctx.db, hub.ctx.keys.privateKey),
      chainPendingAudit(hub.ctx.db, hub.ctx.keys.privateKey),
    ]);
    expect(first + second).toBe(6);
    const rows = await sql<{ target_id: string; step: number }>`
      select target_id, (details->>'step')::int as step from audit_entry where action = 'test.left' order by seq`.execute(
      hub.ctx.db,
    );
    expect(rows.rows.map((r) => `${r.target_id}.${r.step}`)).toEqual([
      'b1.1',
      'b1.2',
      'b2.1',
      'b2.2',
      'b3.1',
      'b3.2',
    ]);
    const left = await sql<{ n: number }>`select count(*)::int as n from audit_pending`.execute(hub.ctx.db);
    expect(left.rows[0]!.n).toBe(0);
    expect(await verify()).toMatchObject({ ok: true, entries: 12 });
  });

  it('flushes what it wrote while other writers keep committing', async (t) => {
    if (!hub) return t.skip();
    let writing = true;
    const writers = Promise.all(
      [0, 1, 2].map(async (w) => {
        while (writing) await audit(hub!.ctx, { actorType: 'system', action: 'test.stream', details: { w } });
      }),
    );
    await audit(hub.ctx, { actorType: 'system', action: 'test.mine' });
    // Would wait for the writers to stop if a flush waited for the chainer to go idle.
    await flushAudit(hub.ctx);
    const mine = await sql<{ n: number }>`
      select count(*)::int as n from audit_entry where action = 'test.mine'`.execute(hub.ctx.db);
    writing = false;
    await writers;
    expect(mine.rows[0]!.n).toBe(1);
    expect(await verify()).toMatchObject({ ok: true });
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

// PGlite has one connection, so two transactions cannot be open at once there.
describe('audit log on postgres, two transactions at once', () => {
  let hub: TestHub | undefined;
  beforeEach(async () => {
    hub = await hubWithEntries('postgres');
  });
  afterEach(async () => {
    await hub?.dispose();
  });
  const verify = async () => {
    await chainPendingAudit(hub!.ctx.db, hub!.ctx.keys.privateKey);
    return verifyAuditLog(hub!.ctx.db, hub!.ctx.keys.publicKey);
  };

  it('does not hold the chain lock while a transaction is still working', async (t) => {
    if (!hub) return t.skip();
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let audited!: () => void;
    const auditedInSlow = new Promise<void>((resolve) => {
      audited = resolve;
    });
    const slow = hub.ctx.db.transaction().execute(async (trx) => {
      await audit(hub!.ctx, { actorType: 'system', action: 'test.slow' }, trx);
      audited();
      await held;
    });
    await auditedInSlow;
    // Would wait for `slow` forever if its audit() had taken the lock.
    await hub.ctx.db
      .transaction()
      .execute((trx) => audit(hub!.ctx, { actorType: 'system', action: 'test.fast' }, trx));
    release();
    await slow;
    await flushAudit(hub.ctx);
    const actions = await sql<{
      action: string;
    }>`select action from audit_entry where seq > 6 order by seq`.execute(hub.ctx.db);
    expect(actions.rows.map((row) => row.action)).toEqual(['test.fast', 'test.slow']);
    expect(await verify()).toMatchObject({ ok: true, entries: 8 });
  });
});
