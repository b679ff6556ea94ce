import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { cdmTables } from '../../omop/schema.ts';
import { migrateSiteStore, SITE_MIGRATIONS } from './migrations.ts';

describe.each(SITE_DIALECTS)('site store on %s', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('creates every CDM v5.4 table with its columns', async (ctx) => {
    if (!t) return ctx.skip();
    const columns = await t.store.all<{ table_name: string; column_name: string }>(
      "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'cdm'",
    );
    const byTable = new Map<string, string[]>();
    for (const c of columns) byTable.set(c.table_name, [...(byTable.get(c.table_name) ?? []), c.column_name]);
    // The 39 CDM v5.4 tables and the Medical Imaging extension's image_occurrence.
    expect(byTable.size).toBe(40);
    expect(byTable.has('image_occurrence')).toBe(true);
    for (const table of cdmTables) {
      expect(new Set(byTable.get(table.name)), table.name).toEqual(new Set(table.columns.map((c) => c.name)));
    }
  });

  it('migrating again changes nothing', async (ctx) => {
    if (!t) return ctx.skip();
    expect(await migrateSiteStore(t.store)).toEqual([]);
    expect(await t.store.all('SELECT id, name FROM itda.migration ORDER BY id')).toEqual(
      SITE_MIGRATIONS.map((m) => ({ id: m.id, name: m.name })),
    );
  });

  it('bulk-loads thousands of rows and reads back every type the same way', async (ctx) => {
    if (!t) return ctx.skip();
    const rows = Array.from({ length: 3000 }, (_, i) => [
      i + 1,
      i + 1,
      3004249,
      i % 7 === 0 ? null : 120.5 + i,
      '2024-02-29',
      i % 2 === 0 ? '2024-02-29T13:45:10.250Z' : null,
      32817,
      i % 3 === 0 ? null : `src-${i}`,
    ]);
    const columns = [
      'measurement_id',
      'person_id',
      'measurement_concept_id',
      'value_as_number',
      'measurement_date',
      'measurement_datetime',
      'measurement_type_concept_id',
      'measurement_source_value',
    ];
    expect(await t.store.appendRows('cdm', 'measurement', columns, rows)).toBe(3000);
    const back = await t.store.all(
      `SELECT ${columns.join(', ')}, unit_concept_id FROM cdm.measurement WHERE measurement_id IN ($1, $2) ORDER BY measurement_id`,
      [1, 2],
    );
    expect(back).toEqual([
      {
        measurement_id: 1,
        person_id: 1,
        measurement_concept_id: 3004249,
        value_as_number: null,
        measurement_date: '2024-02-29',
        measurement_datetime: '2024-02-29T13:45:10.250Z',
        measurement_type_concept_id: 32817,
        measurement_source_value: null,
        unit_concept_id: null,
      },
      {
        measurement_id: 2,
        person_id: 2,
        measurement_concept_id: 3004249,
        value_as_number: 121.5,
        measurement_date: '2024-02-29',
        measurement_datetime: null,
        measurement_type_concept_id: 32817,
        measurement_source_value: 'src-1',
        unit_concept_id: null,
      },
    ]);
    expect(await t.store.all('SELECT count(*) AS n, sum(value_as_number) AS s FROM cdm.measurement')).toEqual(
      [{ n: 3000, s: rows.reduce((sum, r) => sum + ((r[3] as number | null) ?? 0), 0) }],
    );
  });

  it('rolls back everything a failed transaction did', async (ctx) => {
    if (!t) return ctx.skip();
    await expect(
      t.store.transaction(async (tx) => {
        await tx.appendRows(
          'cdm',
          'person',
          ['person_id', 'gender_concept_id', 'year_of_birth', 'race_concept_id', 'ethnicity_concept_id'],
          [[1, 8507, 1950, 0, 0]],
        );
        await tx.run("INSERT INTO itda.site_meta (key, value) VALUES ('k', 'v')");
        throw new Error('half way');
      }),
    ).rejects.toThrow('half way');
    expect(await t.store.all('SELECT count(*) AS n FROM cdm.person')).toEqual([{ n: 0 }]);
    expect(await t.store.all('SELECT count(*) AS n FROM itda.site_meta')).toEqual([{ n: 0 }]);
  });

  it('refuses a row that breaks a primary key without a partial load', async (ctx) => {
    if (!t) return ctx.skip();
    const person = (id: number) => [id, 8532, 1960, 0, 0];
    const cols = [
      'person_id',
      'gender_concept_id',
      'year_of_birth',
      'race_concept_id',
      'ethnicity_concept_id',
    ];
    await expect(
      t.store.transaction((tx) => tx.appendRows('cdm', 'person', cols, [person(10), person(11), person(10)])),
    ).rejects.toThrow();
    expect(await t.store.all('SELECT count(*) AS n FROM cdm.person')).toEqual([{ n: 0 }]);
  });

  it('keeps its data when closed and opened again', async (ctx) => {
    if (!t) return ctx.skip();
    await t.store.run("INSERT INTO itda.site_meta (key, value) VALUES ('site', 'kept')");
    await t.store.close();
    const reopened = await t.reopen();
    expect(await reopened.all('SELECT value FROM itda.site_meta')).toEqual([{ value: 'kept' }]);
  });
});
