/**
 * Runs a Circe cohort definition on the site store: a count writes nothing; with rows, the
 * cohort is written to a scratch result schema that is dropped afterwards, whatever
 * happens. Shared by the `feasibility` task and the steward's `itda cohort` commands.
 */
import { randomBytes } from 'node:crypto';
import { type CompiledCohort, cohortResultTablesDdl, compileCohort } from '../../cohort/compile.ts';
import {
  type CohortGenerationSummary,
  countCompiledCohort,
  readCohortSummary,
  runCompiledCohort,
} from '../../cohort/generate.ts';
import type { SiteStore } from '../store/store.ts';

export interface CohortRow {
  subject_id: number;
  cohort_start_date: string;
  cohort_end_date: string;
}

export interface InclusionResultRow {
  inclusion_rule_mask: number;
  person_count: number;
  mode_id: number;
}

export interface CohortRun {
  summary: CohortGenerationSummary;
  /** Only when asked for (`withRows`): the cohort's eras and Circe's inclusion-result rows. */
  rows?: { cohort: CohortRow[]; inclusionResults: InclusionResultRow[] };
}

const COHORT_ID = 1;

function isoDay(value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  return String(value).slice(0, 10);
}

/** Compiles `definition` for the store's dialect (throws ItdaError `unsupported` naming the part). */
export function compileForStore(
  store: Pick<SiteStore, 'kind' | 'cdmSchema'>,
  definition: unknown,
  resultSchema: string,
): CompiledCohort {
  return compileCohort(definition, {
    dialect: store.kind,
    cdmSchema: store.cdmSchema,
    resultSchema,
    cohortId: COHORT_ID,
  });
}

/**
 * Compiles and runs `definition` (OHDSI Circe JSON) on `store`; returns its size and
 * mode-1 attrition, and with `withRows` the cohort rows and inclusion-result rows.
 * The definition is compiled before anything is created, so a refused one leaves no trace.
 */
export async function runCohortOnStore(
  store: SiteStore,
  definition: unknown,
  options: { withRows?: boolean } = {},
): Promise<CohortRun> {
  const scratch = `itda_scratch_${randomBytes(6).toString('hex')}`;
  const compiled = compileForStore(store, definition, scratch);
  // A count alone writes nothing: no scratch schema, no result tables.
  if (!options.withRows) return { summary: await countCompiledCohort(store, compiled) };
  try {
    for (const statement of cohortResultTablesDdl(store.kind, scratch)) await store.run(statement);
    await runCompiledCohort(store, compiled);
    const summary = await readCohortSummary(store, compiled, scratch);
    const cohort = await store.all<Record<string, unknown>>(
      `SELECT subject_id, cohort_start_date, cohort_end_date FROM ${scratch}.cohort WHERE cohort_definition_id = ${COHORT_ID} ORDER BY subject_id, cohort_start_date`,
    );
    const inclusion = await store.all<Record<string, unknown>>(
      `SELECT inclusion_rule_mask, person_count, mode_id FROM ${scratch}.cohort_inclusion_result WHERE cohort_definition_id = ${COHORT_ID} ORDER BY mode_id, inclusion_rule_mask`,
    );
    return {
      summary,
      rows: {
        cohort: cohort.map((r) => ({
          subject_id: Number(r.subject_id),
          cohort_start_date: isoDay(r.cohort_start_date),
          cohort_end_date: isoDay(r.cohort_end_date),
        })),
        inclusionResults: inclusion.map((r) => ({
          inclusion_rule_mask: Number(r.inclusion_rule_mask),
          person_count: Number(r.person_count),
          mode_id: Number(r.mode_id),
        })),
      },
    };
  } finally {
    await store.run(`DROP SCHEMA IF EXISTS ${scratch} CASCADE`);
  }
}
