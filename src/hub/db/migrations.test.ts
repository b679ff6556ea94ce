import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { HUB_MIGRATIONS, runMigrations } from './migrations.ts';

describe.each(HUB_DIALECTS)('hub migrations on %s', (dialect) => {
  let hub: TestHub | undefined;
  beforeAll(async () => {
    hub = await startTestHub(dialect);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('applies every migration at start and records it', async (t) => {
    if (!hub) return t.skip();
    const rows = await hub.ctx.db.selectFrom('itda_migration').select(['id', 'name']).orderBy('id').execute();
    expect(rows.map((r) => r.id)).toEqual(HUB_MIGRATIONS.map((m) => m.id));
    const tables = await sql<{ table_name: string }>`
      select table_name from information_schema.tables where table_schema = current_schema()`.execute(
      hub.ctx.db,
    );
    expect(tables.rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['site', 'site_nonce', 'task', 'app_user', 'session', 'itda_migration']),
    );
  });

  it('is a no-op when run again', async (t) => {
    if (!hub) return t.skip();
    expect(await runMigrations(hub.ctx.db)).toEqual([]);
  });

  it('runs a failing migration in its own transaction, leaving nothing behind', async (t) => {
    if (!hub) return t.skip();
    const broken = {
      id: 9999,
      name: 'broken',
      async up(db: Parameters<(typeof HUB_MIGRATIONS)[number]['up']>[0]) {
        await sql`create table half_done (x int)`.execute(db);
        await sql`select * from no_such_table`.execute(db);
      },
    };
    await expect(runMigrations(hub.ctx.db, [broken])).rejects.toThrow(/no_such_table/);
    const left = await sql<{ n: number }>`
      select count(*)::int as n from information_schema.tables where table_name = 'half_done'`.execute(
      hub.ctx.db,
    );
    expect(left.rows[0]?.n).toBe(0);
    const recorded = await hub.ctx.db
      .selectFrom('itda_migration')
      .select('id')
      .where('id', '=', 9999)
      .execute();
    expect(recorded).toEqual([]);
  });
});
