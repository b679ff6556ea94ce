/**
 * Compiles a Circe cohort expression into ordered SQL statements for DuckDB or
 * PostgreSQL, following the steps of circe-be's generateCohort template:
 *
 *  1. concept sets → `codesets` (descendants via concept_ancestor, "Maps to", exclusions)
 *  2. primary events (entry criteria within an observation period, observation window, limit)
 *  3. qualified events (additional criteria, qualified limit)
 *  4. inclusion rules → `inclusion_events`; included events (all rules pass, expression limit)
 *  5. cohort exits (end strategy, censoring criteria), era collapse (era pad), censor window
 *  6. `cohort` rows and attrition statistics (`cohort_inclusion_result`, `_stats`,
 *     `cohort_summary_stats`, `cohort_censor_stats`) in the result schema.
 *
 * Work tables are session temporary tables, so the statements must run on one connection
 * (one transaction): see `generateCohort`.
 */
import { ItdaError } from '../protocol/errors.ts';
import {
  type CriteriaContext,
  criteriaQuery,
  groupPredicate,
  groupQuery,
  isGroupEmpty,
} from './criteria-sql.ts';
import { type CohortExpression, type ConceptSet, parseCohortExpression } from './expression.ts';
import { addDays, type CohortDialect, dateLiteral, indent, quoteIdent, stringLiteral } from './sql.ts';

export type { CohortDialect } from './sql.ts';

export interface CompileCohortOptions {
  dialect: CohortDialect;
  /** Schema of the CDM event tables. */
  cdmSchema: string;
  /** Schema of the vocabulary tables (defaults to `cdmSchema`). */
  vocabularySchema?: string;
  /** Schema of the `cohort` and statistics tables (see `cohortResultTablesDdl`). */
  resultSchema: string;
  cohortId: number;
  /** Prefix of the temporary work tables (default `cohort_<id>_`). */
  tempPrefix?: string;
}

export interface CompiledInclusionRule {
  ruleSequence: number;
  name: string;
  description: string | null;
}

export interface CompiledCohort {
  dialect: CohortDialect;
  cohortId: number;
  /** Run in order on one connection. */
  statements: string[];
  /**
   * The same statements grouped into scripts of `;`-separated statements, one round trip
   * each (what `runCompiledCohort` sends): every round trip has a fixed cost that, over a
   * dozen statements, outweighed the work of a small cohort.
   */
  scripts: string[];
  /**
   * The cohort's size and mode-1 attrition alone, without the result tables (what a
   * feasibility count needs): run `setup`, read `query` (tagged rows, see
   * `countCompiledCohort`), run `cleanup` — on one connection, in one transaction.
   */
  count: { setup: string[]; query: string; cleanup: string[] };
  inclusionRules: CompiledInclusionRule[];
  expression: CohortExpression;
}

/**
 * Statements as one script. DuckDB and PostgreSQL's simple query protocol run them in
 * order; the separator has a line of its own so a trailing comment cannot swallow it.
 */
function script(statements: string[]): string {
  return statements.join('\n;\n');
}

/** Circe keeps rule masks in a BIGINT; beyond 62 rules a mask would overflow. */
const MAX_INCLUSION_RULES = 62;

function conceptSetQuery(conceptSet: ConceptSet, vocab: string): string {
  const items = conceptSet.expression.items;
  const part = (excluded: boolean) => {
    const chosen = items.filter((item) => (item.isExcluded ?? false) === excluded);
    if (chosen.length === 0) return null;
    const ids = (list: typeof chosen) => list.map((item) => Math.trunc(item.concept.CONCEPT_ID)).join(', ');
    const direct = `SELECT concept_id FROM ${vocab}.concept WHERE concept_id IN (${ids(chosen)})`;
    const descendants = (list: typeof chosen) =>
      list.length === 0
        ? null
        : [
            'SELECT c.concept_id',
            `FROM ${vocab}.concept c`,
            `JOIN ${vocab}.concept_ancestor ca ON ca.descendant_concept_id = c.concept_id`,
            `WHERE c.invalid_reason IS NULL AND ca.ancestor_concept_id IN (${ids(list)})`,
          ].join('\n');
    const selected = [direct, descendants(chosen.filter((i) => i.includeDescendants))].filter(Boolean);
    const mapped = chosen.filter((i) => i.includeMapped);
    if (mapped.length > 0) {
      // "Maps to" pulls in the source concepts that map onto the selected standard concepts.
      const sources = [
        `SELECT concept_id FROM ${vocab}.concept WHERE concept_id IN (${ids(mapped)})`,
        descendants(mapped.filter((i) => i.includeDescendants)),
      ].filter(Boolean);
      selected.push(
        [
          'SELECT cr.concept_id_1 AS concept_id',
          `FROM (${sources.join(' UNION ')}) M`,
          `JOIN ${vocab}.concept_relationship cr ON cr.concept_id_2 = M.concept_id`,
          "  AND cr.relationship_id = 'Maps to' AND cr.invalid_reason IS NULL",
        ].join('\n'),
      );
    }
    return selected.join('\nUNION\n');
  };
  const included = part(false);
  if (!included) return `SELECT concept_id FROM ${vocab}.concept WHERE 1 = 0`;
  const excluded = part(true);
  if (!excluded) return `SELECT DISTINCT I.concept_id FROM (\n${indent(included)}\n) I`;
  return [
    'SELECT DISTINCT I.concept_id FROM (',
    indent(included),
    ') I',
    'LEFT JOIN (',
    indent(excluded),
    ') E ON E.concept_id = I.concept_id',
    'WHERE E.concept_id IS NULL',
  ].join('\n');
}

function limitType(limit: { Type?: string | null } | null | undefined): 'first' | 'last' | 'all' {
  // Circe's ResultLimit defaults to "First".
  return (limit?.Type as 'first' | 'last' | 'all' | undefined) ?? 'first';
}

/** The statements that create the result tables (idempotent). */
export function cohortResultTablesDdl(dialect: CohortDialect, resultSchema: string): string[] {
  const s = quoteIdent(resultSchema);
  const text = dialect === 'duckdb' ? 'VARCHAR' : 'TEXT';
  return [
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.cohort (cohort_definition_id BIGINT NOT NULL, subject_id BIGINT NOT NULL, cohort_start_date DATE NOT NULL, cohort_end_date DATE NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.cohort_inclusion (cohort_definition_id BIGINT NOT NULL, rule_sequence INTEGER NOT NULL, name ${text}, description ${text})`,
    `CREATE TABLE IF NOT EXISTS ${s}.cohort_inclusion_result (cohort_definition_id BIGINT NOT NULL, inclusion_rule_mask BIGINT NOT NULL, person_count BIGINT NOT NULL, mode_id INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.cohort_inclusion_stats (cohort_definition_id BIGINT NOT NULL, rule_sequence INTEGER NOT NULL, person_count BIGINT NOT NULL, gain_count BIGINT NOT NULL, person_total BIGINT NOT NULL, mode_id INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.cohort_summary_stats (cohort_definition_id BIGINT NOT NULL, base_count BIGINT NOT NULL, final_count BIGINT NOT NULL, mode_id INTEGER NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.cohort_censor_stats (cohort_definition_id BIGINT NOT NULL, lost_count BIGINT NOT NULL)`,
  ];
}

/**
 * Compiles an OHDSI Circe cohort expression (ATLAS JSON, as object or text) to SQL that
 * fills `<resultSchema>.cohort` for `cohortId` and the Circe attrition tables
 * (`cohort_inclusion_result`/`_stats` with mode 0 = all events, 1 = best event per person,
 * and `cohort_summary_stats`). Semantics follow OHDSI circe-be (CohortExpressionQueryBuilder
 * and its generateCohort template) over OMOP CDM v5.4.
 *
 * @throws ItdaError `unsupported` naming the JSON path of any part this engine does not
 *   implement; `validation_failed` for malformed definitions.
 */
export function compileCohort(expression: unknown, options: CompileCohortOptions): CompiledCohort {
  const parsed = parseCohortExpression(expression);
  if (!Number.isInteger(options.cohortId))
    throw new ItdaError('validation_failed', 'cohortId must be an integer');
  const cdm = quoteIdent(options.cdmSchema);
  const vocab = quoteIdent(options.vocabularySchema ?? options.cdmSchema);
  const results = quoteIdent(options.resultSchema);
  const prefix = options.tempPrefix ?? `cohort_${Math.abs(options.cohortId)}_`;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(prefix))
    throw new ItdaError('validation_failed', `tempPrefix must be a plain identifier: ${prefix}`);
  const t = {
    codesets: `${prefix}codesets`,
    primary: `${prefix}primary_events`,
    qualified: `${prefix}qualified_events`,
    masks: `${prefix}inclusion_masks`,
    included: `${prefix}included_events`,
    final: `${prefix}final_cohort`,
  };
  const ctx: CriteriaContext = { cdm, codesets: t.codesets };
  const id = options.cohortId;
  const isPostgres = options.dialect === 'postgres';
  const analyze = (table: string) => (isPostgres ? [`ANALYZE ${table}`] : []);
  // Only the work tables this expression needs are created; each statement costs a round trip.
  const created: string[] = [];
  // The same work tables as CTEs, for the count-only query on DuckDB (see `CompiledCohort.count`).
  const workCtes: string[] = [];
  const createTemp = (table: string, query: string) => {
    created.push(table);
    workCtes.push(`${table} AS MATERIALIZED (\n${indent(query)}\n)`);
    // DuckDB replaces a leftover table in the same statement; PostgreSQL drops them all first.
    return `CREATE ${isPostgres ? '' : 'OR REPLACE '}TEMP TABLE ${table} AS\n${query}`;
  };
  const statements: string[] = [];

  // 1. Concept sets, in one statement.
  const conceptSets = parsed.ConceptSets ?? [];
  const seen = new Set<number>();
  for (const [i, cs] of conceptSets.entries()) {
    if (seen.has(cs.id))
      throw new ItdaError('validation_failed', `ConceptSets[${i}].id ${cs.id} is used by two concept sets`);
    seen.add(cs.id);
  }
  const codesetQueries = conceptSets.map((cs) =>
    [
      `-- concept set ${cs.id}${cs.name ? `: ${cs.name.replace(/[\r\n]+/g, ' ')}` : ''}`,
      `SELECT CAST(${cs.id} AS INTEGER) AS codeset_id, CAST(concept_id AS BIGINT) AS concept_id FROM (`,
      indent(conceptSetQuery(cs, vocab)),
      ') S',
    ].join('\n'),
  );
  statements.push(
    createTemp(
      t.codesets,
      codesetQueries.length > 0
        ? codesetQueries.join('\nUNION ALL\n')
        : 'SELECT CAST(NULL AS INTEGER) AS codeset_id, CAST(NULL AS BIGINT) AS concept_id WHERE 1 = 0',
    ),
    ...analyze(t.codesets),
  );

  // 2. Primary events.
  const primary = parsed.PrimaryCriteria;
  if (primary.CriteriaList.length === 0)
    throw new ItdaError(
      'validation_failed',
      'PrimaryCriteria.CriteriaList is empty: a cohort needs entry events',
    );
  const entryQueries = primary.CriteriaList.map((c, i) =>
    criteriaQuery(c, ctx, `PrimaryCriteria.CriteriaList[${i}]`),
  );
  const priorDays = primary.ObservationWindow?.PriorDays ?? 0;
  const postDays = primary.ObservationWindow?.PostDays ?? 0;
  const primaryLimit = limitType(primary.PrimaryCriteriaLimit);
  const primaryQuery = [
    '-- primary (entry) events, numbered per person',
    'SELECT P.ordinal AS event_id, P.person_id, P.start_date, P.end_date, P.op_start_date, P.op_end_date, P.visit_occurrence_id',
    'FROM (',
    '  SELECT E.person_id, E.start_date, E.end_date,',
    `    row_number() OVER (PARTITION BY E.person_id ORDER BY E.sort_date ${primaryLimit === 'last' ? 'DESC' : 'ASC'}, E.event_id) AS ordinal,`,
    '    OP.observation_period_start_date AS op_start_date, OP.observation_period_end_date AS op_end_date,',
    '    CAST(E.visit_occurrence_id AS BIGINT) AS visit_occurrence_id',
    '  FROM (',
    indent(entryQueries.join('\nUNION ALL\n'), 4),
    '  ) E',
    `  JOIN ${cdm}.observation_period OP ON OP.person_id = E.person_id`,
    '    AND E.start_date >= OP.observation_period_start_date AND E.start_date <= OP.observation_period_end_date',
    // A zero observation window is the join condition itself.
    ...(priorDays === 0 && postDays === 0
      ? []
      : [
          `  WHERE ${addDays('OP.observation_period_start_date', priorDays)} <= E.start_date`,
          `    AND ${addDays('E.start_date', postDays)} <= OP.observation_period_end_date`,
        ]),
    ') P',
    ...(primaryLimit === 'all' ? [] : ['WHERE P.ordinal = 1']),
  ].join('\n');
  // The events table is written when a later step reads it more than once; a lone mask
  // pass of per-event rule conditions reads the query itself (see step 4).
  let primaryWritten = false;
  const writePrimary = () => {
    if (primaryWritten) return;
    primaryWritten = true;
    statements.push(createTemp(t.primary, primaryQuery), ...analyze(t.primary));
  };
  // A first/last limit leaves one event per person; later first/last limits change nothing.
  let onePerPerson = primaryLimit !== 'all';

  // 3. Qualified events. Circe applies the qualified limit only when AdditionalCriteria is present.
  const additional = parsed.AdditionalCriteria;
  const qualifiedLimit = limitType(parsed.QualifiedLimit);
  const applyQualifiedLimit = additional != null && qualifiedLimit !== 'all' && !onePerPerson;
  let qualified = t.primary;
  if (!isGroupEmpty(additional) || applyQualifiedLimit) {
    writePrimary();
    qualified = t.qualified;
    const additionalJoin = isGroupEmpty(additional)
      ? []
      : [
          '  JOIN (',
          indent(groupQuery(additional!, t.primary, ctx, 'AdditionalCriteria', true), 4),
          '  ) AC ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id',
        ];
    statements.push(
      createTemp(
        t.qualified,
        [
          '-- qualified events (additional criteria)',
          'SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date, visit_occurrence_id',
          'FROM (',
          '  SELECT pe.event_id, pe.person_id, pe.start_date, pe.end_date, pe.op_start_date, pe.op_end_date, pe.visit_occurrence_id,',
          `    row_number() OVER (PARTITION BY pe.person_id ORDER BY pe.start_date ${qualifiedLimit === 'last' ? 'DESC' : 'ASC'}, pe.event_id) AS ordinal`,
          `  FROM ${t.primary} pe`,
          ...additionalJoin,
          ') QE',
          ...(applyQualifiedLimit ? ['WHERE QE.ordinal = 1'] : []),
        ].join('\n'),
      ),
      ...analyze(t.qualified),
    );
    if (applyQualifiedLimit) onePerPerson = true;
  }

  // 4. Inclusion rules: one row per qualified event with the mask of the rules it passes.
  const rules = parsed.InclusionRules ?? [];
  if (rules.length > MAX_INCLUSION_RULES)
    throw new ItdaError(
      'unsupported',
      `InclusionRules: ${rules.length} rules; at most ${MAX_INCLUSION_RULES} are supported`,
    );
  const inclusionRules: CompiledInclusionRule[] = rules.map((rule, i) => ({
    ruleSequence: i,
    name: rule.name ?? `Rule ${i + 1}`,
    description: rule.description ?? null,
  }));
  const fullMask = ((1n << BigInt(rules.length)) - 1n).toString();
  if (rules.length === 0) writePrimary();
  if (rules.length > 0) {
    // A rule that checks the event row alone is a condition on it (EXISTS / NOT EXISTS),
    // evaluated in the one pass over the events; any other rule is one left join (its group
    // yields an event at most once). Either way the mask is a sum of bits: no union of
    // per-rule rows to group again.
    const predicates = rules.map((rule, i) =>
      groupPredicate(rule.expression, ctx, `InclusionRules[${i}].expression`),
    );
    const inlinePrimary = qualified === t.primary && predicates.every((p) => p != null);
    if (!inlinePrimary) writePrimary();
    const ruleJoins = rules.flatMap((rule, i) =>
      predicates[i] != null
        ? []
        : [
            `  LEFT JOIN ( -- ${(rule.name ?? `rule ${i}`).replace(/[\r\n]+/g, ' ')}`,
            indent(groupQuery(rule.expression, qualified, ctx, `InclusionRules[${i}].expression`, true), 4),
            `  ) R${i} ON R${i}.person_id = P.person_id AND R${i}.event_id = P.event_id`,
          ],
    );
    const passes = rules.map((rule, i) => {
      const predicate = predicates[i];
      if (predicate == null) return `    R${i}.event_id IS NOT NULL AS pass_${i}`;
      return `    -- ${(rule.name ?? `rule ${i}`).replace(/[\r\n]+/g, ' ')}\n${indent(predicate, 4)} AS pass_${i}`;
    });
    const passed = (i: number) => `PR.pass_${i}`;
    const sumOf = (term: (i: number) => string) =>
      rules.map((_, i) => `CASE WHEN ${passed(i)} THEN ${term(i)} ELSE 0 END`).join('\n      + ');
    const events = [
      '  SELECT PR.event_id, PR.person_id, PR.start_date, PR.end_date, PR.op_end_date,',
      `    CAST(${sumOf((i) => `CAST(${(1n << BigInt(i)).toString()} AS BIGINT)`)} AS BIGINT) AS rule_mask,`,
      `    ${sumOf(() => '1')} AS rule_count,`,
      `    CASE ${rules.map((_, i) => `WHEN ${passed(i)} THEN ${i}`).join(' ')} ELSE 0 END AS min_rule_id`,
      '  FROM (',
      '    SELECT P.event_id, P.person_id, P.start_date, P.end_date, P.op_end_date,',
      indent(passes.join(',\n'), 2),
      inlinePrimary ? `    FROM (\n${indent(primaryQuery, 6)}\n    ) P` : `    FROM ${qualified} P`,
      ...(ruleJoins.length > 0 ? [indent(ruleJoins.join('\n'), 2)] : []),
      // OFFSET 0 keeps the pass flags one column each: flattened, each rule's condition
      // would be evaluated once per use (mask, count, first rule).
      '    OFFSET 0',
      '  ) PR',
    ].join('\n');
    statements.push(
      createTemp(
        t.masks,
        [
          '-- inclusion rules: each qualified event with the mask of the rules it passes, and whether',
          "-- it is its person's 'best' event (most rules passed, then earliest first rule, then earliest)",
          onePerPerson
            ? 'SELECT M.*, TRUE AS is_best'
            : 'SELECT M.*, row_number() OVER (PARTITION BY M.person_id ORDER BY M.rule_count DESC, M.min_rule_id ASC, M.start_date ASC, M.event_id ASC) = 1 AS is_best',
          'FROM (',
          events,
          ') M',
        ].join('\n'),
      ),
    );
  }
  const expressionLimit = limitType(parsed.ExpressionLimit);
  const eventSource =
    rules.length === 0
      ? `SELECT event_id, person_id, start_date, end_date, op_end_date FROM ${qualified}`
      : `SELECT event_id, person_id, start_date, end_date, op_end_date FROM ${t.masks} WHERE rule_mask = ${fullMask}`;
  const included =
    expressionLimit === 'all' || onePerPerson
      ? eventSource
      : [
          'SELECT event_id, person_id, start_date, end_date, op_end_date',
          'FROM (',
          `  SELECT MG.*, row_number() OVER (PARTITION BY MG.person_id ORDER BY MG.start_date ${expressionLimit === 'last' ? 'DESC' : 'ASC'}, MG.event_id) AS ordinal`,
          '  FROM (',
          indent(eventSource, 4),
          '  ) MG',
          ') R',
          'WHERE R.ordinal = 1',
        ].join('\n');
  if (expressionLimit !== 'all') onePerPerson = true;

  // 5. Cohort exits.
  const strategy = parsed.EndStrategy;
  const dateOffset = strategy?.DateOffset;
  const customEra = strategy?.CustomEra;
  if (dateOffset && customEra)
    throw new ItdaError('validation_failed', 'EndStrategy names both DateOffset and CustomEra');
  const censoring = parsed.CensoringCriteria ?? [];
  let cohortRows: string;
  if (!dateOffset && !customEra && censoring.length === 0) {
    // Only the default exit: the end of the observation period, never before the start.
    cohortRows = [
      '-- included events (every inclusion rule passes, expression limit); exit at the end of the observation period',
      'SELECT person_id, start_date, op_end_date AS end_date FROM (',
      indent(included),
      ') IE',
    ].join('\n');
  } else {
    statements.push(
      createTemp(
        t.included,
        `-- included events: every inclusion rule passes; expression limit\n${included}`,
      ),
    );
    const endSelects: string[] = [];
    if (!dateOffset)
      endSelects.push(
        `-- default exit: end of the observation period\nSELECT event_id, person_id, op_end_date AS end_date FROM ${t.included}`,
      );
    if (dateOffset) {
      const field = dateOffset.DateField === 'EndDate' ? 'end_date' : 'start_date';
      const shifted = addDays(field, dateOffset.Offset ?? 0);
      endSelects.push(
        [
          '-- end strategy: fixed offset, never past the observation period',
          `SELECT event_id, person_id, CASE WHEN ${shifted} > op_end_date THEN op_end_date ELSE ${shifted} END AS end_date`,
          `FROM ${t.included}`,
        ].join('\n'),
      );
    }
    if (customEra) {
      if (customEra.DrugCodesetId == null)
        throw new ItdaError('validation_failed', 'EndStrategy.CustomEra.DrugCodesetId is required');
      const gap = customEra.GapDays ?? 0;
      const offset = customEra.Offset ?? 0;
      const exposureEnd =
        customEra.DaysSupplyOverride != null
          ? addDays('de.drug_exposure_start_date', customEra.DaysSupplyOverride)
          : 'COALESCE(de.drug_exposure_end_date, de.drug_exposure_start_date + de.days_supply, de.drug_exposure_start_date + 1)';
      const drugRows = (column: string) =>
        [
          `SELECT de.person_id, de.drug_exposure_start_date AS start_date, ${exposureEnd} AS end_date`,
          `FROM ${cdm}.drug_exposure de`,
          `WHERE de.person_id IN (SELECT person_id FROM ${t.included})`,
          `  AND de.${column} IN (SELECT concept_id FROM ${t.codesets} WHERE codeset_id = ${customEra.DrugCodesetId})`,
        ].join('\n');
      const drugTarget = `(\n${indent([drugRows('drug_concept_id'), 'UNION ALL', drugRows('drug_source_concept_id')].join('\n'))}\n) DT`;
      endSelects.push(
        [
          '-- end strategy: continuous drug exposure (custom era)',
          'SELECT et.event_id, et.person_id, ERAS.era_end_date AS end_date',
          `FROM ${t.included} et`,
          'JOIN (',
          indent(eraCollapse(drugTarget, gap + offset, gap, 'era_start_date', 'era_end_date')),
          ') ERAS ON ERAS.person_id = et.person_id',
          'WHERE et.start_date >= ERAS.era_start_date AND et.start_date <= ERAS.era_end_date',
        ].join('\n'),
      );
    }
    for (const [i, censor] of censoring.entries())
      endSelects.push(
        [
          `-- censoring event ${i}`,
          'SELECT i.event_id, i.person_id, MIN(c.start_date) AS end_date',
          `FROM ${t.included} i`,
          'JOIN (',
          indent(criteriaQuery(censor, ctx, `CensoringCriteria[${i}]`)),
          ') c ON c.person_id = i.person_id AND c.start_date >= i.start_date AND c.start_date <= i.op_end_date',
          'GROUP BY i.event_id, i.person_id',
        ].join('\n'),
      );
    cohortRows = [
      '-- each included event ends at its earliest exit on or after its start',
      'SELECT I.person_id, I.start_date, MIN(CE.end_date) AS end_date',
      `FROM ${t.included} I`,
      'JOIN (',
      indent(endSelects.join('\nUNION ALL\n')),
      ') CE ON CE.event_id = I.event_id AND CE.person_id = I.person_id AND CE.end_date >= I.start_date',
      'GROUP BY I.event_id, I.person_id, I.start_date',
    ].join('\n');
  }
  const eraPad = parsed.CollapseSettings?.EraPad ?? 0;
  // With one event per person there is nothing to collapse: a lone period is its own era.
  const finalRows = onePerPerson
    ? cohortRows
    : [
        `-- collapse overlapping periods into eras (era pad ${eraPad} days)`,
        eraCollapse(`(\n${indent(cohortRows)}\n) CR0`, eraPad, eraPad, 'start_date', 'end_date'),
      ].join('\n');

  const censorStart = parsed.CensorWindow?.StartDate;
  const censorEnd = parsed.CensorWindow?.EndDate;
  const censored = Boolean(censorStart || censorEnd);
  const startOut = censorStart
    ? `CASE WHEN start_date > ${dateLiteral(censorStart)} THEN start_date ELSE ${dateLiteral(censorStart)} END`
    : 'start_date';
  const endOut = censorEnd
    ? `CASE WHEN end_date < ${dateLiteral(censorEnd)} THEN end_date ELSE ${dateLiteral(censorEnd)} END`
    : 'end_date';
  // The censor statistics compare against the uncensored eras, so only then are they kept.
  if (censored) statements.push(createTemp(t.final, finalRows));
  // The cohort rows: what `cohort` receives, and what the count-only query counts.
  const cohortSelect = [
    `SELECT person_id, ${startOut} AS cohort_start_date, ${endOut} AS cohort_end_date`,
    censored ? `FROM ${t.final}` : `FROM (\n${indent(finalRows)}\n) FR`,
    ...(censored ? [`WHERE ${startOut} <= ${endOut}`] : []),
  ].join('\n');
  // Attrition, each as a SELECT over the events of the given modes (0 = every qualified
  // event, 1 = each person's best event) with the columns of its result table.
  const modeValues = (modes: number[]) => `(VALUES ${modes.map((m) => `(${m})`).join(', ')}) AS m (mode_id)`;
  const byMode = (modes: number[]) =>
    modes
      .map((m) =>
        m === 0
          ? `SELECT 0 AS mode_id, rule_mask FROM ${t.masks}`
          : `SELECT 1 AS mode_id, rule_mask FROM ${t.masks} WHERE is_best`,
      )
      .join('\n  UNION ALL\n  ');
  const ruleRows = inclusionRules
    .map((r) => {
      const bit = 1n << BigInt(r.ruleSequence);
      const allButThis = ((1n << BigInt(rules.length)) - 1n - bit).toString();
      return `(${r.ruleSequence}, CAST(${bit.toString()} AS BIGINT), CAST(${allButThis} AS BIGINT))`;
    })
    .join(', ');
  const attrition = (modes: number[]) => ({
    summary:
      rules.length === 0
        ? // Circe writes no attrition without rules; the summary still gives the base count.
          modes
            .map((m) => {
              const n = m === 0 ? 'COUNT(*)' : 'COUNT(DISTINCT person_id)';
              return `SELECT ${id} AS cohort_definition_id, ${n} AS base_count, ${n} AS final_count, ${m} AS mode_id FROM ${qualified}`;
            })
            .join('\nUNION ALL\n')
        : [
            `SELECT ${id} AS cohort_definition_id, COUNT(E.rule_mask) AS base_count,`,
            `  COUNT(CASE WHEN E.rule_mask = ${fullMask} THEN 1 END) AS final_count, m.mode_id`,
            `FROM ${modeValues(modes)}`,
            'LEFT JOIN (',
            `  ${byMode(modes)}`,
            ') E ON E.mode_id = m.mode_id',
            'GROUP BY m.mode_id',
          ].join('\n'),
    inclusionResult: [
      '-- persons per inclusion-rule mask',
      `SELECT ${id} AS cohort_definition_id, rule_mask AS inclusion_rule_mask, COUNT(*) AS person_count, mode_id`,
      'FROM (',
      `  ${byMode(modes)}`,
      ') E',
      'GROUP BY mode_id, rule_mask',
    ].join('\n'),
    inclusionStats: [
      '-- per rule: events passing it, events failing only it (the gain), all events',
      `SELECT ${id} AS cohort_definition_id, ir.rule_sequence,`,
      '  COUNT(CASE WHEN (E.rule_mask & ir.rule_bit) <> 0 THEN 1 END) AS person_count,',
      '  COUNT(CASE WHEN E.rule_mask = ir.all_but_this_mask THEN 1 END) AS gain_count,',
      '  COUNT(E.rule_mask) AS person_total, m.mode_id',
      `FROM (VALUES ${ruleRows}) AS ir (rule_sequence, rule_bit, all_but_this_mask)`,
      `CROSS JOIN ${modeValues(modes)}`,
      'LEFT JOIN (',
      `  ${byMode(modes)}`,
      ') E ON E.mode_id = m.mode_id',
      'GROUP BY ir.rule_sequence, m.mode_id',
    ].join('\n'),
  });

  // From here on only the result tables are written: small statements, sent as one script.
  const resultStart = statements.length;
  statements.push(
    `DELETE FROM ${results}.cohort WHERE cohort_definition_id = ${id}`,
    [
      `INSERT INTO ${results}.cohort (cohort_definition_id, subject_id, cohort_start_date, cohort_end_date)`,
      `SELECT ${id}, person_id, cohort_start_date, cohort_end_date FROM (\n${indent(cohortSelect)}\n) C`,
    ].join('\n'),
  );

  // 6. Statistics.
  statements.push(`DELETE FROM ${results}.cohort_censor_stats WHERE cohort_definition_id = ${id}`);
  if (censored)
    statements.push(
      [
        `INSERT INTO ${results}.cohort_censor_stats (cohort_definition_id, lost_count)`,
        `SELECT ${id}, COALESCE(FC.total - TC.total, 0)`,
        `FROM (SELECT COUNT(DISTINCT person_id) AS total FROM ${t.final}) FC,`,
        `  (SELECT COUNT(DISTINCT subject_id) AS total FROM ${results}.cohort WHERE cohort_definition_id = ${id}) TC`,
      ].join('\n'),
    );
  statements.push(`DELETE FROM ${results}.cohort_inclusion WHERE cohort_definition_id = ${id}`);
  if (inclusionRules.length > 0)
    statements.push(
      `INSERT INTO ${results}.cohort_inclusion (cohort_definition_id, rule_sequence, name, description) VALUES ${inclusionRules
        .map(
          (rule) =>
            `(${id}, ${rule.ruleSequence}, ${stringLiteral(rule.name)}, ${rule.description == null ? 'NULL' : stringLiteral(rule.description)})`,
        )
        .join(', ')}`,
    );
  for (const table of ['cohort_inclusion_result', 'cohort_inclusion_stats', 'cohort_summary_stats'])
    statements.push(`DELETE FROM ${results}.${table} WHERE cohort_definition_id = ${id}`);
  const bothModes = attrition([0, 1]);
  const summaryInsert = `INSERT INTO ${results}.cohort_summary_stats (cohort_definition_id, base_count, final_count, mode_id)\n${bothModes.summary}`;
  if (rules.length === 0) statements.push(summaryInsert);
  else
    statements.push(
      `INSERT INTO ${results}.cohort_inclusion_result (cohort_definition_id, inclusion_rule_mask, person_count, mode_id)\n${bothModes.inclusionResult}`,
      `INSERT INTO ${results}.cohort_inclusion_stats (cohort_definition_id, rule_sequence, person_count, gain_count, person_total, mode_id)\n${bothModes.inclusionStats}`,
      summaryInsert,
    );

  // The count-only query: what `readCohortSummary` reads back, computed from the work
  // tables directly (mode 1), as tagged rows.
  const bestEvent = attrition([1]);
  const countSelect = [
    `SELECT 'size' AS kind, CAST(COUNT(*) AS BIGINT) AS a, CAST(COUNT(DISTINCT person_id) AS BIGINT) AS b, CAST(NULL AS BIGINT) AS c FROM (\n${indent(cohortSelect)}\n) C`,
    rules.length === 0
      ? `UNION ALL SELECT 'summary', CAST(base_count AS BIGINT), CAST(final_count AS BIGINT), NULL FROM (\n${indent(bestEvent.summary)}\n) S`
      : `UNION ALL SELECT 'mask', CAST(inclusion_rule_mask AS BIGINT), CAST(person_count AS BIGINT), NULL FROM (\n${indent(bestEvent.inclusionResult)}\n) M`,
  ].join('\n');

  // Drops name the temporary schema so they can never touch a permanent table of that name.
  const dropTemp = (tables: string[]) =>
    isPostgres
      ? [`DROP TABLE IF EXISTS ${tables.map((table) => `pg_temp.${table}`).join(', ')}`]
      : tables.map((table) => `DROP TABLE IF EXISTS temp.main.${table}`);
  // PostgreSQL has no CREATE OR REPLACE TABLE: leftovers of an interrupted run go first.
  // Each work table is one script (with its ANALYZE), so a failure names its step; the
  // result writes are one script; the drops go as they are.
  const scripts: string[] = isPostgres ? [...dropTemp(created)] : [];
  for (const statement of statements.slice(0, resultStart)) {
    if (statement.startsWith('ANALYZE ') && scripts.length > 0)
      scripts.push(script([scripts.pop()!, statement]));
    else scripts.push(statement);
  }
  // Counting alone writes nothing. DuckDB answers it in one statement, the work tables as
  // materialized CTEs (each statement of the table path has a fixed cost of a few ms, which
  // at 100,000 persons outweighed the work); PostgreSQL keeps its analyzed temp tables,
  // which its planner needs for good joins.
  const count = isPostgres
    ? { setup: [...scripts], query: countSelect, cleanup: dropTemp(created) }
    : { setup: [], query: `WITH\n${workCtes.join(',\n')}\n${countSelect}`, cleanup: [] };
  scripts.push(script(statements.slice(resultStart)), ...dropTemp(created));
  if (isPostgres) statements.unshift(...dropTemp(created));
  statements.push(...dropTemp(created));
  return {
    dialect: options.dialect,
    cohortId: id,
    statements,
    scripts,
    count,
    inclusionRules,
    expression: parsed,
  };
}

/**
 * Circe's era builder: periods whose (padded) ends reach the next start merge; the
 * merged end is the latest padded end minus `unpad` days.
 */
function eraCollapse(table: string, pad: number, unpad: number, startName: string, endName: string): string {
  return [
    `SELECT person_id, MIN(start_date) AS ${startName}, ${addDays('MAX(end_date)', -unpad)} AS ${endName}`,
    'FROM (',
    '  SELECT person_id, start_date, end_date,',
    '    SUM(is_start) OVER (PARTITION BY person_id ORDER BY start_date, is_start DESC ROWS UNBOUNDED PRECEDING) AS group_idx',
    '  FROM (',
    '    SELECT person_id, start_date, end_date,',
    '      CASE WHEN MAX(end_date) OVER (PARTITION BY person_id ORDER BY start_date ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) >= start_date THEN 0 ELSE 1 END AS is_start',
    '    FROM (',
    `      SELECT person_id, start_date, ${addDays('end_date', pad)} AS end_date FROM ${table}`,
    '    ) CR',
    '  ) ST',
    ') GR',
    'GROUP BY person_id, group_idx',
  ].join('\n');
}
