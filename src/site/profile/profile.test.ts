import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import { DISCLOSURE_DEFAULTS } from '../../privacy/disclosure.ts';
import { type ProfileReport, profileReportSchema } from '../../protocol/reports.ts';
import { loadOmopCsv } from '../ingest/omop-csv.ts';
import { computeProfile } from './profile.ts';

const EUNOMIA = path.resolve(import.meta.dirname, '../../../../shared/data/eunomia-synthea27nj-5.4');

describe.each(SITE_DIALECTS)('site profile on %s', (dialect) => {
  let t: TestStore | undefined;
  let profile: ProfileReport;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (!t) return;
    await loadOmopCsv(t.store, EUNOMIA, { quarantineDir: path.join(t.dir, 'quarantine') });
    profile = await computeProfile(t.store);
  });
  afterAll(async () => {
    await t?.dispose();
  });

  const analysis = (id: number) => profile.analyses.find((a) => a.analysisId === id)!;
  const expectDisclosed = async (id: number, sql: string) => {
    const independent = await t!.store.all<{ s1: string | number | null; n: number }>(sql);
    const expected = new Map(
      independent.map((r) => [r.s1 === null ? null : String(r.s1), r.n > 0 && r.n < 10 ? '<10' : r.n]),
    );
    const got = new Map(analysis(id).rows.map((r) => [r.strata[0] ?? null, r.count]));
    expect(got).toEqual(expected);
  };

  it('validates against the published profile schema and names analyses from the Achilles list', (ctx) => {
    if (!t) return ctx.skip();
    expect(profileReportSchema.parse(profile)).toBeTruthy();
    expect(analysis(2)).toMatchObject({
      name: 'Number of persons by gender',
      stratumNames: ['gender_concept_id'],
    });
  });

  it('matches independent SQL counts, with counts from 1 to 9 suppressed', async (ctx) => {
    if (!t) return ctx.skip();
    expect(analysis(1).rows).toEqual([{ strata: [], count: 28 }]);
    await expectDisclosed(2, 'SELECT gender_concept_id AS s1, count(*) AS n FROM cdm.person GROUP BY 1');
    await expectDisclosed(
      401,
      'SELECT condition_concept_id AS s1, count(*) AS n FROM cdm.condition_occurrence GROUP BY 1',
    );
    await expectDisclosed(
      400,
      'SELECT condition_concept_id AS s1, count(DISTINCT person_id) AS n FROM cdm.condition_occurrence GROUP BY 1',
    );
    await expectDisclosed(
      1801,
      'SELECT measurement_concept_id AS s1, count(*) AS n FROM cdm.measurement GROUP BY 1',
    );
    const all = profile.analyses.flatMap((a) => a.rows.map((r) => r.count));
    expect(all).toContain('<10');
    expect(all.filter((c) => typeof c === 'number' && c > 0 && c < 10)).toEqual([]);
  });

  it("follows the steward's raised cell minimum, labelling small counts with it", async (ctx) => {
    if (!t) return ctx.skip();
    const raised = await computeProfile(t.store, {
      disclosure: { ...DISCLOSURE_DEFAULTS, minCellCount: 30, minRowsForMoments: 30 },
    });
    const persons = raised.analyses.find((a) => a.analysisId === 1)!;
    // 28 persons: exact at the default minimum, "<30" once the steward asks for 30.
    expect(persons.rows).toEqual([{ strata: [], count: '<30' }]);
    const all = raised.analyses.flatMap((a) => a.rows.map((r) => r.count));
    expect(all.filter((c) => typeof c === 'number' && c > 0 && c < 30)).toEqual([]);
    expect(all).not.toContain('<10');
    expect(profileReportSchema.parse(raised).minCellCount).toBe(30);
  });

  it('releases value distributions only for at least ten values', async (ctx) => {
    if (!t) return ctx.skip();
    const rows = profile.distributions[0]!.rows;
    expect(rows.some((r) => r.count === '<10' && r.mean === null && r.median === null)).toBe(true);
    const shown = rows.find((r) => typeof r.count === 'number')!;
    const [check] = await t.store.all<{ n: number; mean: number }>(
      `SELECT count(*) AS n, avg(value_as_number) AS mean FROM cdm.measurement
        WHERE value_as_number IS NOT NULL AND measurement_concept_id = $1 AND unit_concept_id ${shown.strata[1] === null ? 'IS NULL' : '= $2'}`,
      shown.strata[1] === null
        ? [Number(shown.strata[0])]
        : [Number(shown.strata[0]), Number(shown.strata[1])],
    );
    expect(shown.count).toBe(check!.n);
    expect(shown.mean).toBeCloseTo(check!.mean, 2);
  });
});
