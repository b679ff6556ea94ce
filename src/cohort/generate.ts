/**
 * Runs a compiled cohort against a database and reads back its size and attrition.
 * The database is anything with `run`/`all`/`transaction` (the site store's `SiteStore`
 * fits), so this library never opens connections itself.
 */
import { type CompileCohortOptions, type CompiledCohort, compileCohort } from './compile.ts';
import { quoteIdent } from './sql.ts';

/** The slice of a SQL connection the cohort engine needs (a `SiteStore` satisfies it). */
export interface CohortSqlRunner {
  /** Runs one statement or a script of `;`-separated statements (no parameters). */
  run(sql: string): Promise<void>;
  all<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  /** Runs `fn` on one connection in one transaction (temporary tables live per connection). */
  transaction<T>(fn: (tx: CohortSqlRunner) => Promise<T>): Promise<T>;
}

export interface InclusionRuleAttrition {
  ruleSequence: number;
  name: string;
  /** Persons (best event per person) that pass this rule. */
  personCount: number;
  /** Persons that fail only this rule: the cohort would gain them without it. */
  gainCount: number;
  /** Persons that pass this rule and every rule before it (the attrition curve). */
  remainingCount: number;
}

export interface CohortGenerationSummary {
  cohortId: number;
  /** Rows written to `cohort` (eras). */
  rowCount: number;
  /** Distinct persons in `cohort`. */
  personCount: number;
  /** Persons with a qualifying entry event, before inclusion rules. */
  baseCount: number;
  /** Persons whose best event passes every inclusion rule. */
  finalCount: number;
  inclusionRules: InclusionRuleAttrition[];
}

function toNumber(value: unknown): number {
  return typeof value === 'bigint' ? Number(value) : Number(value ?? 0);
}

/** Runs the compiled statements in one transaction, script by script (`CompiledCohort.scripts`). */
export async function runCompiledCohort(runner: CohortSqlRunner, compiled: CompiledCohort): Promise<void> {
  await runner.transaction(async (tx) => {
    for (const script of compiled.scripts) await tx.run(script);
  });
}

/**
 * Reads the cohort's size and per-rule attrition (mode 1: best event per person, as
 * ATLAS reports it) from the result tables written by a compiled cohort.
 */
export async function readCohortSummary(
  runner: CohortSqlRunner,
  compiled: CompiledCohort,
  resultSchema: string,
): Promise<CohortGenerationSummary> {
  const results = quoteIdent(resultSchema);
  const id = compiled.cohortId;
  // One round trip: size, summary, per-rule stats and masks as tagged rows.
  const rows = await runner.all<{ kind: string; a: unknown; b: unknown; c: unknown }>(
    [
      `SELECT 'size' AS kind, CAST(COUNT(*) AS BIGINT) AS a, CAST(COUNT(DISTINCT subject_id) AS BIGINT) AS b, CAST(NULL AS BIGINT) AS c FROM ${results}.cohort WHERE cohort_definition_id = ${id}`,
      `UNION ALL SELECT 'summary', base_count, final_count, NULL FROM ${results}.cohort_summary_stats WHERE cohort_definition_id = ${id} AND mode_id = 1`,
      `UNION ALL SELECT 'rule', CAST(rule_sequence AS BIGINT), person_count, gain_count FROM ${results}.cohort_inclusion_stats WHERE cohort_definition_id = ${id} AND mode_id = 1`,
      `UNION ALL SELECT 'mask', inclusion_rule_mask, person_count, NULL FROM ${results}.cohort_inclusion_result WHERE cohort_definition_id = ${id} AND mode_id = 1`,
    ].join('\n'),
  );
  const size = rows.find((r) => r.kind === 'size');
  const summaryRow = rows.find((r) => r.kind === 'summary');
  const summary = summaryRow && { base_count: summaryRow.a, final_count: summaryRow.b };
  const stats = rows
    .filter((r) => r.kind === 'rule')
    .map((r) => ({ rule_sequence: r.a, person_count: r.b, gain_count: r.c }));
  const masks = rows
    .filter((r) => r.kind === 'mask')
    .map((r) => ({ inclusion_rule_mask: r.a, person_count: r.b }));
  const byRule = new Map(stats.map((s) => [toNumber(s.rule_sequence), s]));
  const inclusionRules = compiled.inclusionRules.map((rule) => {
    // Rules 0..i all passed: the mask has its low i+1 bits set.
    const prefix = (1n << BigInt(rule.ruleSequence + 1)) - 1n;
    const remaining = masks
      .filter((m) => (BigInt(String(m.inclusion_rule_mask)) & prefix) === prefix)
      .reduce((sum, m) => sum + toNumber(m.person_count), 0);
    const s = byRule.get(rule.ruleSequence);
    return {
      ruleSequence: rule.ruleSequence,
      name: rule.name,
      personCount: toNumber(s?.person_count),
      gainCount: toNumber(s?.gain_count),
      remainingCount: remaining,
    };
  });
  return {
    cohortId: id,
    rowCount: toNumber(size?.a),
    personCount: toNumber(size?.b),
    baseCount: toNumber(summary?.base_count),
    finalCount: toNumber(summary?.final_count),
    inclusionRules,
  };
}

/**
 * Compiles and runs a Circe cohort definition (OHDSI circe-be semantics) on `runner`,
 * filling `<resultSchema>.cohort` and the attrition tables, and returns its summary.
 * The result tables must exist (`cohortResultTablesDdl`).
 */
export async function generateCohort(
  runner: CohortSqlRunner,
  expression: unknown,
  options: CompileCohortOptions,
): Promise<CohortGenerationSummary> {
  const compiled = compileCohort(expression, options);
  await runCompiledCohort(runner, compiled);
  return readCohortSummary(runner, compiled, options.resultSchema);
}
