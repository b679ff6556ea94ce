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

interface TaggedRow {
  kind: string;
  a: unknown;
  b: unknown;
  c: unknown;
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
  // One round trip: size, summary and masks as tagged rows.
  const rows = await runner.all<TaggedRow>(
    [
      `SELECT 'size' AS kind, CAST(COUNT(*) AS BIGINT) AS a, CAST(COUNT(DISTINCT subject_id) AS BIGINT) AS b, CAST(NULL AS BIGINT) AS c FROM ${results}.cohort WHERE cohort_definition_id = ${id}`,
      `UNION ALL SELECT 'summary', base_count, final_count, NULL FROM ${results}.cohort_summary_stats WHERE cohort_definition_id = ${id} AND mode_id = 1`,
      `UNION ALL SELECT 'mask', inclusion_rule_mask, person_count, NULL FROM ${results}.cohort_inclusion_result WHERE cohort_definition_id = ${id} AND mode_id = 1`,
    ].join('\n'),
  );
  return summaryFromTaggedRows(rows, compiled);
}

/**
 * The tagged rows of `readCohortSummary` and of `CompiledCohort.count.query` → a summary:
 * `size` (cohort rows, persons); with inclusion rules, `mask` (persons per rule mask, best
 * event), from which every attrition figure follows; without, `summary` (base, final).
 */
function summaryFromTaggedRows(rows: TaggedRow[], compiled: CompiledCohort): CohortGenerationSummary {
  const size = rows.find((r) => r.kind === 'size');
  const masks = rows
    .filter((r) => r.kind === 'mask')
    .map((r) => ({ mask: BigInt(String(r.a)), persons: toNumber(r.b) }));
  const persons = (test: (mask: bigint) => boolean) =>
    masks.filter((m) => test(m.mask)).reduce((sum, m) => sum + m.persons, 0);
  const ruleCount = compiled.inclusionRules.length;
  const fullMask = (1n << BigInt(ruleCount)) - 1n;
  const summaryRow = rows.find((r) => r.kind === 'summary');
  const inclusionRules = compiled.inclusionRules.map((rule) => {
    const bit = 1n << BigInt(rule.ruleSequence);
    // Rules 0..i all passed: the mask has its low i+1 bits set.
    const prefix = (bit << 1n) - 1n;
    return {
      ruleSequence: rule.ruleSequence,
      name: rule.name,
      personCount: persons((mask) => (mask & bit) !== 0n),
      // Fails this rule alone: the cohort would gain them without it.
      gainCount: persons((mask) => mask === fullMask - bit),
      remainingCount: persons((mask) => (mask & prefix) === prefix),
    };
  });
  return {
    cohortId: compiled.cohortId,
    rowCount: toNumber(size?.a),
    personCount: toNumber(size?.b),
    baseCount: ruleCount > 0 ? persons(() => true) : toNumber(summaryRow?.a),
    finalCount: ruleCount > 0 ? persons((mask) => mask === fullMask) : toNumber(summaryRow?.b),
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

/**
 * Runs only the count of a compiled cohort (`CompiledCohort.count`): its size and mode-1
 * attrition, the same as `readCohortSummary` after a full run, without writing the result
 * tables — they need not exist.
 */
export async function countCompiledCohort(
  runner: CohortSqlRunner,
  compiled: CompiledCohort,
): Promise<CohortGenerationSummary> {
  const { setup, query, cleanup } = compiled.count;
  // A lone statement is atomic by itself: BEGIN and COMMIT would only add round trips.
  if (setup.length === 0 && cleanup.length === 0)
    return summaryFromTaggedRows(await runner.all<TaggedRow>(query), compiled);
  return runner.transaction(async (tx) => {
    for (const script of setup) await tx.run(script);
    const rows = await tx.all<TaggedRow>(query);
    for (const script of cleanup) await tx.run(script);
    return summaryFromTaggedRows(rows, compiled);
  });
}
