/**
 * Runs a compiled cohort against a database and reads back its size and attrition.
 * The database is anything with `run`/`all`/`transaction` (the site store's `SiteStore`
 * fits), so this library never opens connections itself.
 */
import { type CompileCohortOptions, type CompiledCohort, compileCohort } from './compile.ts';
import { quoteIdent } from './sql.ts';

/** The slice of a SQL connection the cohort engine needs (a `SiteStore` satisfies it). */
export interface CohortSqlRunner {
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

/** Runs the compiled statements in one transaction. */
export async function runCompiledCohort(runner: CohortSqlRunner, compiled: CompiledCohort): Promise<void> {
  await runner.transaction(async (tx) => {
    for (const statement of compiled.statements) await tx.run(statement);
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
  const [size] = await runner.all<{ row_count: unknown; person_count: unknown }>(
    `SELECT COUNT(*) AS row_count, COUNT(DISTINCT subject_id) AS person_count FROM ${results}.cohort WHERE cohort_definition_id = ${id}`,
  );
  const [summary] = await runner.all<{ base_count: unknown; final_count: unknown }>(
    `SELECT base_count, final_count FROM ${results}.cohort_summary_stats WHERE cohort_definition_id = ${id} AND mode_id = 1`,
  );
  const stats = await runner.all<{ rule_sequence: unknown; person_count: unknown; gain_count: unknown }>(
    `SELECT rule_sequence, person_count, gain_count FROM ${results}.cohort_inclusion_stats WHERE cohort_definition_id = ${id} AND mode_id = 1 ORDER BY rule_sequence`,
  );
  const masks = await runner.all<{ inclusion_rule_mask: unknown; person_count: unknown }>(
    `SELECT inclusion_rule_mask, person_count FROM ${results}.cohort_inclusion_result WHERE cohort_definition_id = ${id} AND mode_id = 1`,
  );
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
    rowCount: toNumber(size?.row_count),
    personCount: toNumber(size?.person_count),
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
