import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, SITE_DIALECTS, type TestStore } from '../../../test/support/site-store.ts';
import type { QualityReport } from '../../protocol/reports.ts';
import { qualityReportSchema } from '../../protocol/reports.ts';
import { loadOmopCsv } from '../ingest/omop-csv.ts';
import { runQualityChecks } from './run.ts';
import { loadDqdSpec } from './spec.ts';

const EUNOMIA = path.resolve(import.meta.dirname, '../../../../shared/data/eunomia-synthea27nj-5.4');
const key = (c: QualityReport['checks'][number]) =>
  [c.checkName, c.cdmTableName, c.cdmFieldName ?? '', c.conceptId ?? ''].join(':');

describe.each(SITE_DIALECTS)('data-quality checks on %s', (dialect) => {
  let t: TestStore | undefined;
  let baseline: QualityReport;
  const spec = loadDqdSpec();
  beforeAll(async () => {
    t = await openTestStore(dialect);
    if (!t) return;
    await loadOmopCsv(t.store, EUNOMIA, { quarantineDir: path.join(t.dir, 'quarantine') });
    baseline = await runQualityChecks(t.store, { spec });
  });
  afterAll(async () => {
    await t?.dispose();
  });

  it('runs every applicable DQD check on Eunomia without errors and summarises by category', (ctx) => {
    if (!t) return ctx.skip();
    expect(qualityReportSchema.parse(baseline)).toBeTruthy();
    expect(baseline.overall.errors).toBe(0);
    expect(baseline.overall.run).toBe(baseline.checks.length);
    expect(baseline.overall.passed + baseline.overall.failed + baseline.overall.notApplicable).toBe(
      baseline.overall.run,
    );
    // Every check type of the specification appears in the run.
    expect(new Set(baseline.checks.map((c) => c.checkName))).toEqual(
      new Set(spec.checks.map((c) => c.checkName)),
    );
    expect(baseline.byCategory.map((c) => `${c.context} ${c.category}`)).toEqual(
      expect.arrayContaining([
        'Verification Conformance',
        'Verification Completeness',
        'Verification Plausibility',
      ]),
    );
    // Empty tables are not applicable, as in DQD.
    expect(
      baseline.checks.find((c) => c.checkName === 'isRequired' && c.cdmTableName === 'specimen'),
    ).toMatchObject({
      status: 'not_applicable',
    });
    expect(
      baseline.checks.find((c) => c.checkName === 'isPrimaryKey' && c.cdmTableName === 'person'),
    ).toMatchObject({
      status: 'passed',
      numViolatedRows: 0,
      numDenominatorRows: 28,
    });
  });

  it('answers every check exactly as its own stand-alone SQL does', async (ctx) => {
    if (!t) return ctx.skip();
    const oneByOne = await runQualityChecks(t.store, { spec, strategy: 'one-by-one' });
    expect(oneByOne.overall.errors).toBe(0);
    const answer = (c: QualityReport['checks'][number]) => ({
      check: key(c),
      violated: c.numViolatedRows,
      denominator: c.numDenominatorRows,
      status: c.status,
    });
    expect(baseline.checks.map(answer)).toEqual(oneByOne.checks.map(answer));
    // The comparison has teeth: some checks count violations, others are not applicable.
    expect(baseline.checks.some((c) => (c.numViolatedRows ?? 0) > 0)).toBe(true);
    expect(baseline.overall.failed).toBeGreaterThan(0);
    expect(baseline.overall.notApplicable).toBeGreaterThan(0);
  });

  it('catches each planted violation with the check meant for it and no unrelated one', async (ctx) => {
    if (!t) return ctx.skip();
    const s = t.store;
    // A condition dated before the person's birth (moving it also takes it out of its visit's dates).
    const [victim] = await s.all<{ condition_occurrence_id: number; year_of_birth: number }>(
      `SELECT co.condition_occurrence_id, p.year_of_birth FROM cdm.condition_occurrence co
         JOIN cdm.person p ON p.person_id = co.person_id
        WHERE p.year_of_birth > 1960 AND co.visit_occurrence_id IS NOT NULL
        ORDER BY co.condition_occurrence_id DESC LIMIT 1`,
    );
    const beforeBirth = `${victim!.year_of_birth - 3}-06-01`;
    await s.run(
      'UPDATE cdm.condition_occurrence SET condition_start_date = $1, condition_start_datetime = $2 WHERE condition_occurrence_id = $3',
      [beforeBirth, `${beforeBirth} 08:00:00`, victim!.condition_occurrence_id],
    );
    // A negative value, an orphan foreign key, a non-standard concept in a standard field.
    await s.run(
      'UPDATE cdm.drug_exposure SET days_supply = -5 WHERE drug_exposure_id = (SELECT min(drug_exposure_id) FROM cdm.drug_exposure)',
    );
    await s.run(
      'UPDATE cdm.measurement SET visit_occurrence_id = 99999999 WHERE measurement_id = (SELECT min(measurement_id) FROM cdm.measurement)',
    );
    const [nonStandard] = await s.all<{ concept_id: number }>(
      "SELECT concept_id FROM cdm.concept WHERE domain_id = 'Condition' AND standard_concept IS NULL AND invalid_reason IS NOT NULL ORDER BY concept_id LIMIT 1",
    );
    await s.run(
      'UPDATE cdm.condition_occurrence SET condition_concept_id = $1 WHERE condition_occurrence_id = (SELECT min(condition_occurrence_id) FROM cdm.condition_occurrence)',
      [nonStandard!.concept_id],
    );

    const after = await runQualityChecks(s, { spec });
    const violatedBefore = new Map(baseline.checks.map((c) => [key(c), c.numViolatedRows ?? 0]));
    const increased = after.checks
      .filter((c) => (c.numViolatedRows ?? 0) > (violatedBefore.get(key(c)) ?? 0))
      .map(key);
    expect(increased.sort()).toEqual(
      [
        'plausibleAfterBirth:condition_occurrence:condition_start_date:',
        'plausibleAfterBirth:condition_occurrence:condition_start_datetime:',
        'plausibleTemporalAfter:condition_occurrence:condition_start_date:',
        'plausibleTemporalAfter:condition_occurrence:condition_start_datetime:',
        'withinVisitDates:condition_occurrence:condition_start_date:',
        'plausibleValueLow:drug_exposure:days_supply:',
        'isForeignKey:measurement:visit_occurrence_id:',
        'isStandardValidConcept:condition_occurrence:condition_concept_id:',
      ].sort(),
    );
  });

  it('catches a duplicated key where the store declares none, batched answers still equal one by one', async (ctx) => {
    if (!t) return ctx.skip();
    const s = t.store;
    // PERSON as an existing CDM might hold it: no PRIMARY KEY constraint, and one person twice.
    await s.run('CREATE TABLE cdm.person_unkeyed AS SELECT * FROM cdm.person');
    await s.run('DROP TABLE cdm.person');
    await s.run('ALTER TABLE cdm.person_unkeyed RENAME TO person');
    await s.run(
      'INSERT INTO cdm.person SELECT * FROM cdm.person WHERE person_id = (SELECT min(person_id) FROM cdm.person)',
    );
    const batched = await runQualityChecks(s, { spec });
    const oneByOne = await runQualityChecks(s, { spec, strategy: 'one-by-one' });
    const answer = (c: QualityReport['checks'][number]) =>
      [key(c), c.numViolatedRows, c.numDenominatorRows, c.status].join(' ');
    expect(batched.checks.map(answer)).toEqual(oneByOne.checks.map(answer));
    expect(batched.overall.errors).toBe(0);
    expect(
      batched.checks.find((c) => c.checkName === 'isPrimaryKey' && c.cdmTableName === 'person'),
    ).toMatchObject({ status: 'failed', numViolatedRows: 2, numDenominatorRows: 29 });
  });
});
