import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/hub.ts';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { parseCsvRows } from '../../omop/csv.ts';
import { KCD7_VOCABULARY_DIR } from '../../synth/vocabulary.ts';
import { readOnlyQuery } from '../store/read-only.ts';
import { loadOmopCsv, loadVocabulary } from './omop-csv.ts';

const EUNOMIA = path.resolve(import.meta.dirname, '../../../../shared/data/eunomia-synthea27nj-5.4');

/** Data rows per table, counted straight from the CSV files. */
function csvRowCounts(dir: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of fs.readdirSync(dir)) {
    if (name.toLowerCase().endsWith('.csv')) {
      counts[name.slice(0, -4).toLowerCase()] =
        parseCsvRows(fs.readFileSync(path.join(dir, name), 'utf8')).length - 1;
    }
  }
  return counts;
}

describe.each(SITE_DIALECTS)('loading OMOP CSV on %s', (dialect) => {
  let t: TestStore | undefined;
  const expected = csvRowCounts(EUNOMIA);
  beforeAll(async () => {
    t = await openTestStore(dialect);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const tableCounts = async () => {
    const out: Record<string, number> = {};
    for (const table of Object.keys(expected)) {
      const [row] = await t!.store.all<{ n: number }>(`SELECT count(*) AS n FROM cdm.${table}`);
      out[table] = row!.n;
    }
    return out;
  };

  it('reproduces the Eunomia row counts exactly, vocabulary included', async (ctx) => {
    if (!t) return ctx.skip();
    const result = await loadOmopCsv(t.store, EUNOMIA, { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(result.failed).toEqual([]);
    expect(result.quarantined).toBe(0);
    expect(await tableCounts()).toEqual(expected);
    expect(expected.concept_relationship).toBe(266_588);
  });

  it('adds nothing when the same set is loaded again', async (ctx) => {
    if (!t) return ctx.skip();
    const result = await loadOmopCsv(t.store, EUNOMIA, { quarantineDir: path.join(t.dir, 'quarantine') });
    expect(result.tables.reduce((n, r) => n + r.rowsAdded, 0)).toBe(0);
    expect(await tableCounts()).toEqual(expected);
  });

  it("loads Athena's tab-separated layout with YYYYMMDD dates (the Itda KCD-7 vocabulary)", async (ctx) => {
    if (!t) return ctx.skip();
    const result = await loadVocabulary(t.store, KCD7_VOCABULARY_DIR, {
      quarantineDir: path.join(t.dir, 'quarantine'),
    });
    expect(result.tables.map((r) => [r.table, r.rowsAdded]).sort()).toEqual([
      ['concept', 8],
      ['concept_relationship', 14],
      ['vocabulary', 1],
    ]);
    const rows = await t.store.all(
      `SELECT c.concept_code, c.valid_start_date, r.concept_id_2
         FROM cdm.concept c JOIN cdm.concept_relationship r ON r.concept_id_1 = c.concept_id AND r.relationship_id = 'Maps to'
        WHERE c.vocabulary_id = 'KCD7' AND c.concept_code = $1`,
      ['I10'],
    );
    expect(rows).toEqual([{ concept_code: 'I10', valid_start_date: '1970-01-01', concept_id_2: 320128 }]);
  });

  it('quarantines bad rows with file, line and field, loads the rest, and refuses a file without required columns', async (ctx) => {
    if (!t) return ctx.skip();
    const dir = await tempDir('itda-badcsv-');
    fs.writeFileSync(
      path.join(dir, 'Person.csv'),
      [
        'PERSON_ID,GENDER_CONCEPT_ID,YEAR_OF_BIRTH,RACE_CONCEPT_ID,ETHNICITY_CONCEPT_ID,extra_column',
        '9001,8507,1950,0,0,x',
        '9002,8532,19x0,0,0,x',
        '9003,,1960,0,0,x',
        '9004,8532,1970,0',
        '9005,8532,1980,0,0,x',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'DEATH.csv'), 'person_id,death_type_concept_id\n9001,32817\n');
    const quarantineDir = path.join(dir, 'quarantine');
    const result = await loadOmopCsv(t.store, dir, { quarantineDir });
    expect(result.tables).toEqual([
      expect.objectContaining({
        table: 'person',
        rowsRead: 5,
        rowsAdded: 2,
        quarantined: 3,
        ignoredColumns: ['extra_column'],
      }),
    ]);
    expect(result.failed).toEqual([
      { file: path.join(dir, 'DEATH.csv'), reason: expect.stringMatching(/death_date/) },
    ]);
    const lines = fs
      .readFileSync(path.join(quarantineDir, 'Person.csv.quarantine.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, l.field])).toEqual([
      [3, 'year_of_birth'],
      [4, 'gender_concept_id'],
      [5, undefined],
    ]);
    const persons = await t.store.all(
      'SELECT person_id FROM cdm.person WHERE person_id > 9000 ORDER BY person_id',
    );
    expect(persons).toEqual([{ person_id: 9001 }, { person_id: 9005 }]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers read-only queries and refuses writes at the database', async (ctx) => {
    if (!t) return ctx.skip();
    await t.store.close();
    const store = await t.reopen({ readOnly: true });
    expect(await readOnlyQuery(store, 'SELECT count(*) AS n FROM cdm.person WHERE person_id < 9000')).toEqual(
      [{ n: 28 }],
    );
    await expect(readOnlyQuery(store, 'DELETE FROM cdm.person')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(readOnlyQuery(store, 'SELECT nonsense FROM nowhere')).rejects.toMatchObject({
      code: 'bad_request',
    });
    expect(await readOnlyQuery(store, 'SELECT count(*) AS n FROM cdm.person WHERE person_id < 9000')).toEqual(
      [{ n: 28 }],
    );
  });
});
