import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  duckdbMemoryLimit,
  openTestStore,
  SITE_DIALECTS,
  type TestStore,
} from '../../../test/support/site-store.ts';
import { columnSqlType } from '../../omop/ddl.ts';
import { cdmTables } from '../../omop/schema.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { loadSiteStoreConfig } from '../config.ts';
import { migrateSiteStore, SITE_MIGRATIONS, type SiteMigration } from './migrations.ts';
import { openSiteStore } from './open.ts';
import { PostgresSiteStore } from './postgres.ts';
import type { SiteStore, SqlValue } from './store.ts';

const PERSON_COLUMNS = [
  'person_id',
  'gender_concept_id',
  'year_of_birth',
  'race_concept_id',
  'ethnicity_concept_id',
];
const person = (id: number): SqlValue[] => [id, 8532, 1960, 0, 0];
const count = async (store: SiteStore, from: string) =>
  (await store.all<{ n: number }>(`SELECT count(*) AS n FROM ${from}`))[0]!.n;

/** Rows that exercise every CDM value type: BIGINT keys past 2^31, text with COPY's special characters. */
function measurementRows(n: number): SqlValue[][] {
  return Array.from({ length: n }, (_, i) => [
    5_000_000_000 + i, // measurement_id
    3_000_000_000 + (i % 97), // person_id
    3004249, // measurement_concept_id
    i % 3 === 0 ? '2024-02-29' : `2023-${String((i % 12) + 1).padStart(2, '0')}-15`, // measurement_date
    i % 4 === 0
      ? null
      : i % 4 === 1
        ? '2024-02-29 13:45:10.25'
        : new Date(Date.UTC(2024, 0, 1, 8, 0, i % 60)), // measurement_datetime
    i % 7 === 0 ? null : (i % 2 ? -1 : 1) * (120.5 + i / 8), // value_as_number
    32817, // measurement_type_concept_id
    i % 5 === 0 ? null : `검사 ${i}\tback\\slash\nline "quoted" 'single'`, // measurement_source_value
  ]);
}
const MEASUREMENT_COLUMNS = [
  'measurement_id',
  'person_id',
  'measurement_concept_id',
  'measurement_date',
  'measurement_datetime',
  'value_as_number',
  'measurement_type_concept_id',
  'measurement_source_value',
];

/** What the store conventions say each written value reads back as. */
function expectedBack(row: SqlValue[]): Record<string, unknown> {
  const datetime = row[4];
  return {
    ...Object.fromEntries(MEASUREMENT_COLUMNS.map((c, i) => [c, row[i]])),
    measurement_datetime:
      datetime === null
        ? null
        : datetime instanceof Date
          ? datetime.toISOString()
          : '2024-02-29T13:45:10.250Z',
    unit_concept_id: null,
  };
}

describe.each(SITE_DIALECTS)('site store on %s', (dialect) => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('creates the 39 CDM v5.4 tables with their columns, types, NOT NULLs and primary keys', async (ctx) => {
    if (!t) return ctx.skip();
    const columns = await t.store.all<{
      table_name: string;
      column_name: string;
      data_type: string;
      character_maximum_length: number | null;
      is_nullable: string;
    }>(
      "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns WHERE table_schema = 'cdm' ORDER BY table_name, ordinal_position",
    );
    const keys = await t.store.all<{ table_name: string; column_name: string }>(
      `SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage k
         ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name
       WHERE tc.table_schema = 'cdm' AND tc.constraint_type = 'PRIMARY KEY'`,
    );
    // information_schema spells PostgreSQL types long-hand and keeps a VARCHAR's length apart.
    const spelled = (type: string) =>
      type
        .toUpperCase()
        .replace('TIMESTAMP WITHOUT TIME ZONE', 'TIMESTAMP')
        .replace('CHARACTER VARYING', 'VARCHAR');
    const present = new Set(columns.map((c) => c.table_name));
    expect(cdmTables.filter((table) => present.has(table.name))).toHaveLength(39);
    for (const table of cdmTables) {
      const actual = columns.filter((c) => c.table_name === table.name);
      expect(
        actual.map((c) => [c.column_name, spelled(c.data_type), c.character_maximum_length, c.is_nullable]),
        table.name,
      ).toEqual(
        table.columns.map((c) => {
          const type = columnSqlType(c, table, dialect);
          const length = /\((\d+)\)$/.exec(type);
          return [
            c.name,
            type.replace(/\(\d+\)$/, ''),
            length ? Number(length[1]) : null,
            c.isRequired ? 'NO' : 'YES',
          ];
        }),
      );
      const key = keys.filter((k) => k.table_name === table.name).map((k) => k.column_name);
      expect(key, table.name).toEqual(table.primaryKey ? [table.primaryKey] : []);
    }
  });

  it('migrating again changes nothing and keeps data', async (ctx) => {
    if (!t) return ctx.skip();
    await t.store.run("INSERT INTO itda.site_meta (key, value) VALUES ('name', 'Seoul')");
    const tablesBefore = await count(
      t.store,
      "information_schema.tables WHERE table_schema IN ('cdm', 'itda')",
    );
    expect(await migrateSiteStore(t.store)).toEqual([]);
    expect(await migrateSiteStore(t.store)).toEqual([]);
    expect(await t.store.all('SELECT id, name FROM itda.migration ORDER BY id')).toEqual(
      SITE_MIGRATIONS.map((m) => ({ id: m.id, name: m.name })),
    );
    expect(await count(t.store, "information_schema.tables WHERE table_schema IN ('cdm', 'itda')")).toBe(
      tablesBefore,
    );
    expect(await t.store.all('SELECT key, value FROM itda.site_meta')).toEqual([
      { key: 'name', value: 'Seoul' },
    ]);
    await t.store.run("DELETE FROM itda.site_meta WHERE key = 'name'");
  });

  it('stores dates and timestamps given as text exactly as the database casts them, and refuses impossible ones', async (ctx) => {
    if (!t) return ctx.skip();
    await t.store.run(
      'CREATE TABLE itda.date_probe (id INTEGER, d DATE, ts TIMESTAMP, d_text VARCHAR, ts_text VARCHAR)',
    );
    const days = [
      '1000-01-01',
      '1899-12-31',
      '1900-02-28',
      '1970-01-01',
      '2000-02-29',
      '2024-02-29',
      '2038-01-19',
      '9999-12-31',
    ];
    const times = ['00:00:00', '23:59:59', '12:30:05'];
    const rows: SqlValue[][] = [];
    // 5,000 rows, so several data chunks; other spellings (fractions, a zone, a space) along the way.
    for (let i = 0; i < 5000; i++) {
      const day = i % 997 === 0 ? '2021-3-7' : days[i % days.length]!;
      const time = i % 1201 === 0 ? '08:15:00.125' : i % 1301 === 0 ? '08:15:00Z' : times[i % times.length]!;
      const ts = `${days[(i * 7) % days.length]}${i % 2 ? 'T' : ' '}${time}`;
      rows.push([i, day, ts, day, ts]);
    }
    await t.store.appendRows('itda', 'date_probe', ['id', 'd', 'ts', 'd_text', 'ts_text'], rows);
    const [differ] = await t.store.all<{ n: number }>(
      'SELECT count(*) AS n FROM itda.date_probe WHERE d <> CAST(d_text AS DATE) OR ts <> CAST(ts_text AS TIMESTAMP)',
    );
    expect(differ!.n).toBe(0);
    const [stored] = await t.store.all<{ n: number }>('SELECT count(*) AS n FROM itda.date_probe');
    expect(stored!.n).toBe(5000);
    for (const [d, ts] of [
      ['2021-02-29', '2021-01-01T00:00:00'],
      ['2021-01-01', '2021-04-31T10:00:00'],
    ]) {
      await expect(
        t.store.appendRows('itda', 'date_probe', ['id', 'd', 'ts'], [[1, d!, ts!]]),
      ).rejects.toMatchObject({ code: 'validation_failed' });
    }
    await t.store.run('DROP TABLE itda.date_probe');
  });

  it('bulk-loads thousands of rows and reads every type back the same way', async (ctx) => {
    if (!t) return ctx.skip();
    const rows = measurementRows(4000);
    expect(await t.store.appendRows('cdm', 'measurement', MEASUREMENT_COLUMNS, rows)).toBe(4000);
    const back = await t.store.all(
      `SELECT ${MEASUREMENT_COLUMNS.join(', ')}, unit_concept_id FROM cdm.measurement ORDER BY measurement_id`,
    );
    expect(back).toEqual(rows.map(expectedBack));

    const note = 'first line\nsecond line\twith a tab, a \\ and 한국어 — '.repeat(200);
    await t.store.appendRows(
      'cdm',
      'note',
      [
        'note_id',
        'person_id',
        'note_date',
        'note_datetime',
        'note_type_concept_id',
        'note_class_concept_id',
        'note_title',
        'note_text',
        'encoding_concept_id',
        'language_concept_id',
      ],
      [[1, 1, '2024-03-01', '2024-03-01T09:30:00Z', 32817, 44814637, null, note, 0, 4175771]],
    );
    expect(
      await t.store.all('SELECT note_datetime, note_title, note_text FROM cdm.note WHERE note_id = $1', [1]),
    ).toEqual([{ note_datetime: '2024-03-01T09:30:00.000Z', note_title: null, note_text: note }]);

    const values = rows.map((r) => r[5]).filter((v): v is number => v !== null);
    const [summary] = await t.store.all<Record<string, unknown>>(
      `SELECT count(*) AS n, count(value_as_number) AS with_value, sum(measurement_id) AS id_sum,
              min(measurement_date) AS first_day, max(measurement_datetime) AS last_time
       FROM cdm.measurement`,
    );
    expect(summary).toEqual({
      n: 4000,
      with_value: values.length,
      id_sum: rows.reduce((s, r) => s + (r[0] as number), 0),
      first_day: rows.map((r) => r[3] as string).sort()[0],
      last_time: '2024-02-29T13:45:10.250Z',
    });
  });

  it('gives columns left out of a bulk load their default', async (ctx) => {
    if (!t) return ctx.skip();
    await t.store.run(
      "CREATE TABLE itda.with_defaults (id INTEGER PRIMARY KEY, status VARCHAR DEFAULT 'new', note VARCHAR)",
    );
    await t.store.appendRows('itda', 'with_defaults', ['id'], [[1], [2]]);
    expect(await t.store.all('SELECT id, status, note FROM itda.with_defaults ORDER BY id')).toEqual([
      { id: 1, status: 'new', note: null },
      { id: 2, status: 'new', note: null },
    ]);
    await t.store.run('DROP TABLE itda.with_defaults');
  });

  it('checkpoints DuckDB after a transaction that bulk-loaded rows, and after no other', async (ctx) => {
    if (!t) return ctx.skip();
    const store = t.store;
    await store.run('CREATE TABLE itda.loaded (id INTEGER PRIMARY KEY)');
    const statements = vi.spyOn(store, 'run');
    const checkpoints = () => statements.mock.calls.filter(([sql]) => sql === 'CHECKPOINT').length;
    try {
      await store.transaction(async (tx) => {
        await tx.run('INSERT INTO itda.loaded VALUES (1)');
      });
      expect(checkpoints()).toBe(0);
      await store.transaction(async (tx) => {
        await tx.appendRows('itda', 'loaded', ['id'], [[2], [3]]);
      });
      expect(checkpoints()).toBe(dialect === 'duckdb' ? 1 : 0);
      expect(await store.all('SELECT id FROM itda.loaded ORDER BY id')).toEqual([
        { id: 1 },
        { id: 2 },
        { id: 3 },
      ]);
    } finally {
      statements.mockRestore();
      await store.run('DROP TABLE itda.loaded');
    }
  });

  it('runs work under a memory limit, passing its result and its errors through', async (ctx) => {
    if (!t) return ctx.skip();
    const store = t.store;
    const statements = vi.spyOn(store, 'run');
    try {
      expect(
        await store.withMemoryLimit(96, async () => (await store.all<{ n: number }>('SELECT 1 AS n'))[0]!.n),
      ).toBe(1);
      await expect(store.withMemoryLimit(96, () => Promise.reject(new Error('boom')))).rejects.toThrow(
        'boom',
      );
      // PostgreSQL's memory is its server's: nothing is set there.
      const limits = statements.mock.calls.filter(([sql]) => /memory_limit/.test(sql)).length;
      expect(limits).toBe(dialect === 'duckdb' ? 4 : 0);
    } finally {
      statements.mockRestore();
    }
  });

  it('appends to a table whose columns changed since the last bulk load, or whose change rolled back', async (ctx) => {
    if (!t) return ctx.skip();
    const store = t.store;
    await store.run('CREATE TABLE itda.reshaped (id INTEGER PRIMARY KEY)');
    await store.appendRows('itda', 'reshaped', ['id'], [[1]]);
    await store.run("ALTER TABLE itda.reshaped ADD COLUMN label VARCHAR DEFAULT 'none'");
    await store.appendRows('itda', 'reshaped', ['id', 'label'], [[2, 'two']]);
    await store.appendRows('itda', 'reshaped', ['id'], [[3]]);
    expect(await store.all('SELECT id, label FROM itda.reshaped ORDER BY id')).toEqual([
      { id: 1, label: 'none' },
      { id: 2, label: 'two' },
      { id: 3, label: 'none' },
    ]);
    // A column added inside a transaction that rolls back is gone for the next load.
    await expect(
      store.transaction(async (tx) => {
        await tx.run('ALTER TABLE itda.reshaped ADD COLUMN extra INTEGER');
        await tx.appendRows('itda', 'reshaped', ['id', 'extra'], [[4, 4]]);
        throw new Error('undo');
      }),
    ).rejects.toThrow('undo');
    await expect(store.appendRows('itda', 'reshaped', ['id', 'extra'], [[5, 5]])).rejects.toThrow(/extra/);
    // A table dropped and made again with other columns.
    await store.run('DROP TABLE itda.reshaped');
    await store.run('CREATE TABLE itda.reshaped (key VARCHAR)');
    await store.appendRows('itda', 'reshaped', ['key'], [['a']]);
    expect(await store.all('SELECT * FROM itda.reshaped')).toEqual([{ key: 'a' }]);
    await store.run('DROP TABLE itda.reshaped');
  });

  it('reads values and takes $n parameters the same way in both dialects', async (ctx) => {
    if (!t) return ctx.skip();
    const when = new Date('2024-02-29T13:45:10.250Z');
    expect(
      await t.store.all(
        `SELECT DATE '2024-02-29' AS d, CAST($1 AS TIMESTAMP) AS ts, CAST(5000000000 AS BIGINT) AS big,
                CAST(1.25 AS DECIMAL(10, 2)) AS dec, CAST(0.5 AS DOUBLE PRECISION) AS dbl, $2 AS text,
                CAST(NULL AS INTEGER) AS nothing, CAST($3 AS INTEGER) + 1 AS next`,
        [when, '한국어', 41],
      ),
    ).toEqual([
      {
        d: '2024-02-29',
        ts: '2024-02-29T13:45:10.250Z',
        big: 5_000_000_000,
        dec: 1.25,
        dbl: 0.5,
        text: '한국어',
        nothing: null,
        next: 42,
      },
    ]);
  });

  it('loads all rows of a call or none, with the same error codes', async (ctx) => {
    if (!t) return ctx.skip();
    const store = t.store;
    const reject = (table: string, columns: string[], rows: SqlValue[][]) =>
      store.appendRows('cdm', table, columns, rows);
    // A duplicate key in the last row: nothing of the call stays.
    await expect(
      reject('person', PERSON_COLUMNS, [person(10), person(11), person(10)]),
    ).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(
      reject('person', PERSON_COLUMNS, [person(12), [13, null, 1960, 0, 0]]),
    ).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      reject('person', PERSON_COLUMNS, [person(14), [15, 8532, 1960.5, 0, 0]]),
    ).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('row 2, year_of_birth: 1960.5 is not an integer'),
    });
    await expect(reject('person', PERSON_COLUMNS, [[16, 8532, 3_000_000_000, 0, 0]])).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(
      reject(
        'observation_period',
        [
          'observation_period_id',
          'person_id',
          'observation_period_start_date',
          'observation_period_end_date',
          'period_type_concept_id',
        ],
        [[1, 1, '2024-02-30', '2024-03-01', 32817]],
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
    await expect(reject('person', ['person_id', 'shoe_size'], [[17, 1]])).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('shoe_size'),
    });
    await expect(reject('person', PERSON_COLUMNS, [[18, 8532]])).rejects.toMatchObject({
      code: 'validation_failed',
    });
    await expect(reject('no_such_table', ['x'], [[1]])).rejects.toMatchObject({ code: 'not_found' });
    expect(await count(store, 'cdm.person')).toBe(0);
    expect(await count(store, 'cdm.observation_period')).toBe(0);
    // The store is still usable after every one of those.
    expect(await store.appendRows('cdm', 'person', PERSON_COLUMNS, [person(10)])).toBe(1);
    expect(await store.appendRows('cdm', 'person', PERSON_COLUMNS, [])).toBe(0);
    await store.run('DELETE FROM cdm.person');
  });

  it('rolls back everything a failed transaction did', async (ctx) => {
    if (!t) return ctx.skip();
    await expect(
      t.store.transaction(async (tx) => {
        await tx.appendRows('cdm', 'person', PERSON_COLUMNS, [person(1), person(2)]);
        await tx.run("INSERT INTO itda.site_meta (key, value) VALUES ('k', 'v')");
        await tx.transaction((inner) =>
          inner.run("INSERT INTO itda.site_meta (key, value) VALUES ('k2', 'v')"),
        );
        expect(await count(tx, 'cdm.person')).toBe(2);
        throw new Error('half way');
      }),
    ).rejects.toThrow('half way');
    expect(await count(t.store, 'cdm.person')).toBe(0);
    expect(await count(t.store, 'itda.site_meta')).toBe(0);
  });

  it('does not commit a transaction in which a statement failed, even if the error was caught', async (ctx) => {
    if (!t) return ctx.skip();
    await expect(
      t.store.transaction(async (tx) => {
        await tx.appendRows('cdm', 'person', PERSON_COLUMNS, [person(1)]);
        await tx.appendRows('cdm', 'person', PERSON_COLUMNS, [person(1)]).catch(() => {});
        return 'done';
      }),
    ).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('rolled back') });
    expect(await count(t.store, 'cdm.person')).toBe(0);
  });

  it('lets calls made inside a transaction join it, and keeps other callers out of it', async (ctx) => {
    if (!t) return ctx.skip();
    const store = t.store;
    let inserted!: () => void;
    const rowInserted = new Promise<void>((resolve) => {
      inserted = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const transaction = store.transaction(async (tx) => {
      await tx.appendRows('cdm', 'person', PERSON_COLUMNS, [person(1)]);
      // The store itself, called from inside the transaction, sees the uncommitted row.
      expect(await count(store, 'cdm.person')).toBe(1);
      inserted();
      await gate;
      throw new Error('abandon');
    });
    await rowInserted;
    // A caller outside the transaction never sees its rows (DuckDB: it waits; PostgreSQL: another connection).
    const outside = count(store, 'cdm.person');
    release();
    await expect(transaction).rejects.toThrow('abandon');
    expect(await outside).toBe(0);

    let handle: SiteStore | undefined;
    await store.transaction(async (tx) => {
      handle = tx;
    });
    await expect(handle!.all('SELECT 1 AS one')).rejects.toBeInstanceOf(ItdaError);
  });

  it('applies each migration in one transaction and refuses a store migrated by a newer version', async (ctx) => {
    if (!t) return ctx.skip();
    const failing: SiteMigration = {
      id: 1000,
      name: 'test: half done',
      async up(store) {
        await store.run('CREATE TABLE itda.half_done (id INTEGER)');
        throw new Error('migration broke');
      },
    };
    await expect(migrateSiteStore(t.store, { migrations: [...SITE_MIGRATIONS, failing] })).rejects.toThrow(
      'migration broke',
    );
    expect(await count(t.store, "information_schema.tables WHERE table_name = 'half_done'")).toBe(0);
    expect(await count(t.store, 'itda.migration WHERE id = 1000')).toBe(0);

    const working: SiteMigration = {
      id: 1000,
      name: 'test: done',
      up: (store) => store.run('CREATE TABLE itda.done (id INTEGER)'),
    };
    expect(await migrateSiteStore(t.store, { migrations: [...SITE_MIGRATIONS, working] })).toEqual([1000]);
    await expect(migrateSiteStore(t.store)).rejects.toMatchObject({ code: 'unsupported' });
    await expect(
      migrateSiteStore(t.store, { migrations: [...SITE_MIGRATIONS, working, working] }),
    ).rejects.toMatchObject({ code: 'internal' });
    await t.store.run('DROP TABLE itda.done');
    await t.store.run('DELETE FROM itda.migration WHERE id = 1000');
  });

  it('keeps its data when closed and opened again', async (ctx) => {
    if (!t) return ctx.skip();
    await t.store.run("INSERT INTO itda.site_meta (key, value) VALUES ('site', 'kept')");
    await t.store.appendRows('cdm', 'person', PERSON_COLUMNS, [person(7)]);
    const closed = t.store;
    await closed.close();
    await closed.close();
    await expect(closed.all('SELECT 1 AS one')).rejects.toMatchObject({ code: 'unavailable' });
    const reopened = await t.reopen();
    expect(await reopened.all('SELECT value FROM itda.site_meta')).toEqual([{ value: 'kept' }]);
    expect(await reopened.all('SELECT person_id, year_of_birth FROM cdm.person')).toEqual([
      { person_id: 7, year_of_birth: 1960 },
    ]);
    expect(await count(reopened, 'cdm.measurement')).toBe(4000);
  });
});

describe('site store migrations on postgres', () => {
  let t: TestStore | undefined;
  beforeAll(async () => {
    t = await openTestStore('postgres');
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('lets two processes migrate one database at once', async (ctx) => {
    if (!t?.url) return ctx.skip();
    const other = await PostgresSiteStore.open(t.url, 'cdm');
    try {
      const next: SiteMigration = {
        id: 2000,
        name: 'test: concurrent',
        up: (store) => store.run('CREATE TABLE itda.concurrent (id INTEGER)'),
      };
      const migrations = [...SITE_MIGRATIONS, next];
      const results = await Promise.all([
        migrateSiteStore(t.store, { migrations }),
        migrateSiteStore(other, { migrations }),
      ]);
      expect(results.flat()).toEqual([2000]);
      await t.store.run('DROP TABLE itda.concurrent');
      await t.store.run('DELETE FROM itda.migration WHERE id = 2000');
    } finally {
      await other.close();
    }
  });
});

describe('opening a site store', () => {
  it('names the file it cannot open', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'itda-site-'));
    try {
      // A directory where the database file should be.
      await fs.mkdir(path.join(dir, 'omop.duckdb'));
      await expect(openSiteStore({ dir })).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining(path.join(dir, 'omop.duckdb')),
      });
      const file = path.join(dir, 'plain-file');
      await fs.writeFile(file, '');
      await expect(openSiteStore({ dir: path.join(file, 'site') })).rejects.toMatchObject({
        code: 'unavailable',
        message: expect.stringContaining(file),
      });
      await expect(openSiteStore({ dir, cdmSchema: 'cdm; drop' })).rejects.toMatchObject({
        code: 'validation_failed',
      });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('gives DuckDB the memory limit set for the site, and reads a bad one as an error naming the variable', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'itda-site-'));
    try {
      const config = loadSiteStoreConfig({ ITDA_SITE_MEMORY_LIMIT: '256MB' });
      const limited = await openSiteStore({ dir, memoryLimit: config.memoryLimit });
      // DuckDB reads MB as 1000², and writes MiB.
      expect(await duckdbMemoryLimit(limited)).toBe('244.1 MiB');
      // Held lower for a while, then given back: the configured limit, or DuckDB's default.
      const inside = await limited.withMemoryLimit(96, () => duckdbMemoryLimit(limited));
      expect(inside).toBe('96.0 MiB');
      expect(await duckdbMemoryLimit(limited)).toBe('244.1 MiB');
      // A limit already lower is kept, and a throw still gives the limit back.
      expect(await limited.withMemoryLimit(512, () => duckdbMemoryLimit(limited))).toBe('244.1 MiB');
      await expect(limited.withMemoryLimit(96, () => Promise.reject(new Error('boom')))).rejects.toThrow(
        'boom',
      );
      expect(await duckdbMemoryLimit(limited)).toBe('244.1 MiB');
      await limited.close();
      const unlimited = await openSiteStore({ dir });
      const own = await duckdbMemoryLimit(unlimited);
      expect(own).not.toBe('244.1 MiB');
      expect(await unlimited.withMemoryLimit(96, () => duckdbMemoryLimit(unlimited))).toBe('96.0 MiB');
      expect(await duckdbMemoryLimit(unlimited)).toBe(own);
      // A limit DuckDB refuses (it cannot free enough at once) leaves the work to run as it is.
      const run = unlimited.run.bind(unlimited);
      const refusing = vi
        .spyOn(unlimited, 'run')
        .mockImplementation((sql, params) =>
          sql.startsWith('SET memory_limit')
            ? Promise.reject(new Error('could not free up enough memory'))
            : run(sql, params),
        );
      expect(await unlimited.withMemoryLimit(96, async () => 'ran')).toBe('ran');
      expect(refusing.mock.calls.map(([sql]) => sql)).toEqual(["SET memory_limit = '96MiB'"]);
      refusing.mockRestore();
      expect(await duckdbMemoryLimit(unlimited)).toBe(own);
      await unlimited.close();
      expect(() => loadSiteStoreConfig({ ITDA_SITE_MEMORY_LIMIT: 'lots' })).toThrow(/ITDA_SITE_MEMORY_LIMIT/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('names the URL it cannot reach, without its password', async () => {
    const error = await openSiteStore({
      dir: os.tmpdir(),
      url: 'postgres://itda:secret@127.0.0.1:1/omop',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ItdaError);
    expect(error).toMatchObject({ code: 'unavailable' });
    expect((error as Error).message).toContain('postgres://itda:***@127.0.0.1:1/omop');
    expect((error as Error).message).not.toContain('secret');
  });
});
