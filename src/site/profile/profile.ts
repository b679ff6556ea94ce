/**
 * An Achilles-style characterization of the site store: how many people, of which sex
 * and age, how long observed, and per domain how many people and records by concept and
 * by month, and measurement value distributions. Analysis names and strata come from the
 * Achilles analysis list (ITDA_ACHILLES_SPEC_DIR); the SQL is Itda's own and runs on both
 * dialects. Counts below the site's minimum cell size N (10 unless the steward raised it)
 * leave as "<N", and a distribution needs the policy's minimum rows for moments.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../../omop/csv.ts';
import { quoteIdent } from '../../omop/ddl.ts';
import { DISCLOSURE_DEFAULTS, type DisclosurePolicy, suppressCell } from '../../privacy/disclosure.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { ProfileReport } from '../../protocol/reports.ts';
import type { SiteStore } from '../store/store.ts';

export const DEFAULT_ACHILLES_SPEC_DIR = fileURLToPath(
  new URL('../../../../shared/data/achilles/', import.meta.url),
);

interface AnalysisName {
  name: string;
  strata: string[];
}

export function loadAchillesAnalyses(
  dir = process.env.ITDA_ACHILLES_SPEC_DIR ?? DEFAULT_ACHILLES_SPEC_DIR,
): Map<number, AnalysisName> {
  const file = path.join(dir, 'achilles_analysis_details.csv');
  let rows: Record<string, string | undefined>[];
  try {
    rows = parseCsv(fs.readFileSync(file, 'utf8'));
  } catch {
    throw new ItdaError(
      'unavailable',
      `cannot read the Achilles analysis list ${file} (set ITDA_ACHILLES_SPEC_DIR)`,
    );
  }
  return new Map(
    rows.map((r) => [
      Number(r.ANALYSIS_ID),
      {
        name: r.ANALYSIS_NAME ?? '',
        strata: [r.STRATUM_1_NAME, r.STRATUM_2_NAME, r.STRATUM_3_NAME].filter((x): x is string => !!x),
      },
    ]),
  );
}

const month = (expr: string) =>
  `CAST(EXTRACT(YEAR FROM ${expr}) * 100 + EXTRACT(MONTH FROM ${expr}) AS INTEGER)`;

/** Count analyses: SQL returning stratum columns s1..sN and `n`. */
function countAnalyses(s: string): Record<number, string> {
  const domain = (table: string, concept: string, date: string, base: number) => ({
    [base]: `SELECT ${concept} AS s1, count(DISTINCT person_id) AS n FROM ${s}.${table} GROUP BY 1`,
    [base + 1]: `SELECT ${concept} AS s1, count(*) AS n FROM ${s}.${table} GROUP BY 1`,
    [base + 2]:
      `SELECT ${concept} AS s1, ${month(date)} AS s2, count(DISTINCT person_id) AS n FROM ${s}.${table} GROUP BY 1, 2`,
    [base + 20]: `SELECT ${month(date)} AS s1, count(*) AS n FROM ${s}.${table} GROUP BY 1`,
  });
  return {
    1: `SELECT count(*) AS n FROM ${s}.person`,
    2: `SELECT gender_concept_id AS s1, count(*) AS n FROM ${s}.person GROUP BY 1`,
    3: `SELECT year_of_birth AS s1, count(*) AS n FROM ${s}.person GROUP BY 1`,
    10: `SELECT year_of_birth AS s1, gender_concept_id AS s2, count(*) AS n FROM ${s}.person GROUP BY 1, 2`,
    101: `SELECT CAST(EXTRACT(YEAR FROM op.first_start) AS INTEGER) - p.year_of_birth AS s1, count(*) AS n
            FROM ${s}.person p JOIN (SELECT person_id, min(observation_period_start_date) AS first_start
            FROM ${s}.observation_period GROUP BY person_id) op ON op.person_id = p.person_id GROUP BY 1`,
    108: `SELECT CAST(floor((observation_period_end_date - observation_period_start_date) / 30) AS INTEGER) AS s1,
            count(DISTINCT person_id) AS n FROM ${s}.observation_period GROUP BY 1`,
    111: `SELECT ${month('observation_period_start_date')} AS s1, count(DISTINCT person_id) AS n FROM ${s}.observation_period GROUP BY 1`,
    ...domain('visit_occurrence', 'visit_concept_id', 'visit_start_date', 200),
    ...domain('condition_occurrence', 'condition_concept_id', 'condition_start_date', 400),
    500: `SELECT cause_concept_id AS s1, count(DISTINCT person_id) AS n FROM ${s}.death GROUP BY 1`,
    ...domain('procedure_occurrence', 'procedure_concept_id', 'procedure_date', 600),
    ...domain('drug_exposure', 'drug_concept_id', 'drug_exposure_start_date', 700),
    ...domain('observation', 'observation_concept_id', 'observation_date', 800),
    ...domain('measurement', 'measurement_concept_id', 'measurement_date', 1800),
    2101: `SELECT device_concept_id AS s1, count(*) AS n FROM ${s}.device_exposure GROUP BY 1`,
  };
}

export async function computeProfile(
  store: SiteStore,
  options: { analyses?: Map<number, AnalysisName>; disclosure?: DisclosurePolicy; now?: Date } = {},
): Promise<ProfileReport> {
  const names = options.analyses ?? loadAchillesAnalyses();
  const policy = options.disclosure ?? DISCLOSURE_DEFAULTS;
  const s = quoteIdent(store.cdmSchema);
  const analyses: ProfileReport['analyses'] = [];
  for (const [id, sql] of Object.entries(countAnalyses(s))) {
    const analysisId = Number(id);
    const meta = names.get(analysisId);
    if (!meta) throw new ItdaError('internal', `analysis ${analysisId} is not in the Achilles analysis list`);
    const rows = await store.all<Record<string, number | string | null>>(sql);
    analyses.push({
      analysisId,
      name: meta.name,
      stratumNames: meta.strata,
      rows: rows
        .map((r) => ({
          strata: meta.strata.map((_, i) =>
            r[`s${i + 1}`] === null || r[`s${i + 1}`] === undefined ? null : String(r[`s${i + 1}`]),
          ),
          count: suppressCell(Number(r.n), policy),
        }))
        .sort(
          (a, b) => (typeof b.count === 'number' ? b.count : 0) - (typeof a.count === 'number' ? a.count : 0),
        ),
    });
  }
  const dist = names.get(1815)!;
  const distRows = await store.all<Record<string, number | null>>(
    `SELECT measurement_concept_id AS s1, unit_concept_id AS s2, count(*) AS n, min(value_as_number) AS min_value,
            max(value_as_number) AS max_value, avg(value_as_number) AS avg_value, stddev_samp(value_as_number) AS sd,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY value_as_number) AS p50,
            percentile_cont(0.1) WITHIN GROUP (ORDER BY value_as_number) AS p10,
            percentile_cont(0.25) WITHIN GROUP (ORDER BY value_as_number) AS p25,
            percentile_cont(0.75) WITHIN GROUP (ORDER BY value_as_number) AS p75,
            percentile_cont(0.9) WITHIN GROUP (ORDER BY value_as_number) AS p90
       FROM ${s}.measurement WHERE value_as_number IS NOT NULL GROUP BY 1, 2`,
  );
  // Names of the concepts the profile mentions, so the hub can label them without a vocabulary.
  const ids = new Set<number>();
  for (const a of analyses) {
    a.stratumNames.forEach((name, i) => {
      if (name.endsWith('concept_id')) for (const r of a.rows) if (r.strata[i]) ids.add(Number(r.strata[i]));
    });
  }
  for (const r of distRows)
    for (const v of [r.s1, r.s2]) if (v !== null && v !== undefined) ids.add(Number(v));
  const concepts: Record<string, string> = {};
  const idList = [...ids].filter(Number.isFinite);
  for (let i = 0; i < idList.length; i += 1000) {
    const chunk = idList.slice(i, i + 1000);
    const named = await store.all<{ concept_id: number; concept_name: string }>(
      `SELECT concept_id, concept_name FROM ${s}.concept WHERE concept_id IN (${chunk.join(', ')})`,
    );
    for (const c of named) concepts[String(c.concept_id)] = c.concept_name;
  }
  const stat = (v: number | null | undefined) =>
    v === null || v === undefined ? null : Math.round(Number(v) * 1000) / 1000;
  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    minCellCount: policy.minCellCount,
    concepts,
    analyses,
    distributions: [
      {
        analysisId: 1815,
        name: dist.name,
        stratumNames: ['measurement_concept_id', 'unit_concept_id'],
        rows: distRows.map((r) => {
          const n = Number(r.n);
          // Fewer than ten values: no statistic leaves the site, only "<10".
          const shown = n >= policy.minRowsForMoments;
          return {
            strata: [r.s1 === null ? null : String(r.s1), r.s2 === null ? null : String(r.s2)],
            count: suppressCell(n, policy),
            min: shown ? stat(r.min_value) : null,
            max: shown ? stat(r.max_value) : null,
            mean: shown ? stat(r.avg_value) : null,
            sd: shown ? stat(r.sd) : null,
            median: shown ? stat(r.p50) : null,
            p10: shown ? stat(r.p10) : null,
            p25: shown ? stat(r.p25) : null,
            p75: shown ? stat(r.p75) : null,
            p90: shown ? stat(r.p90) : null,
          };
        }),
      },
    ],
  };
}
