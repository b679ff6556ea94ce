import { type Kysely, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { DEFAULT_POOL_SIZE, loadHubConfig } from '../config.ts';
import { onBeforeCommit } from './database.ts';
import type { HubDatabase } from './schema.ts';

describe('ITDA_DATABASE_POOL', () => {
  it('defaults, takes a number and names itself when wrong', () => {
    expect(loadHubConfig({}).databasePool).toBe(DEFAULT_POOL_SIZE);
    expect(loadHubConfig({ ITDA_DATABASE_POOL: '7' }).databasePool).toBe(7);
    expect(() => loadHubConfig({ ITDA_DATABASE_POOL: '1' })).toThrow(/ITDA_DATABASE_POOL/);
    expect(() => loadHubConfig({ ITDA_DATABASE_POOL: 'many' })).toThrow(/ITDA_DATABASE_POOL/);
  });
});

let hub: TestHub | undefined;
afterEach(async () => {
  await hub?.dispose();
  hub = undefined;
});

describe('hub PostgreSQL pool', () => {
  it('opens at most ITDA_DATABASE_POOL connections', async (t) => {
    hub = await startTestHub('postgres', { databasePool: 3 });
    if (!hub) return t.skip();
    const db = hub.ctx.db;
    const pids = await Promise.all(
      Array.from({ length: 9 }, () =>
        sql<{ pid: number }>`select pg_backend_pid() as pid, pg_sleep(0.05)`.execute(db),
      ),
    );
    expect(new Set(pids.map((r) => r.rows[0]!.pid)).size).toBe(3);
  });
});

describe.each(HUB_DIALECTS)('before-commit hooks on %s', (dialect) => {
  const count = async () =>
    Number(
      (
        await sql<{ n: number }>`select count(*)::int as n from organisation where id like 'hook-%'`.execute(
          hub!.ctx.db,
        )
      ).rows[0]!.n,
    );
  const insert = (db: Kysely<HubDatabase>, id: string) =>
    sql`insert into organisation (id, name_ko, name_en, kind) values (${id}, ${id}, ${id}, 'hospital')`.execute(
      db,
    );

  it('runs after the work, inside the transaction, and rolls it back when it fails', async (t) => {
    hub = await startTestHub(dialect);
    if (!hub) return t.skip();
    const order: string[] = [];
    await hub.ctx.db.transaction().execute(async (trx) => {
      expect(
        onBeforeCommit(trx, async () => {
          order.push('hook');
          await insert(trx, 'hook-b');
        }),
      ).toBe(true);
      await insert(trx, 'hook-a');
      order.push('work');
    });
    expect(order).toEqual(['work', 'hook']);
    expect(await count()).toBe(2);

    await expect(
      hub.ctx.db.transaction().execute(async (trx) => {
        onBeforeCommit(trx, async () => {
          throw new Error('hook refused');
        });
        await insert(trx, 'hook-c');
      }),
    ).rejects.toThrow('hook refused');
    let ran = false;
    await expect(
      hub.ctx.db.transaction().execute(async (trx) => {
        onBeforeCommit(trx, async () => {
          ran = true;
        });
        throw new Error('work failed');
      }),
    ).rejects.toThrow('work failed');
    expect(ran).toBe(false);
    expect(await count()).toBe(2);
    // Outside a transaction there is no commit to run before.
    expect(onBeforeCommit(hub.ctx.db, async () => {})).toBe(false);
  });
});
