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
import { type CriteriaContext, criteriaQuery, groupQuery, isGroupEmpty } from './criteria-sql.ts';
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
  inclusionRules: CompiledInclusionRule[];
  expression: CohortExpression;
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
    inclusion: `${prefix}inclusion_events`,
    included: `${prefix}included_events`,
    drugTarget: `${prefix}drug_target`,
    strategyEnds: `${prefix}strategy_ends`,
    cohortRows: `${prefix}cohort_rows`,
    final: `${prefix}final_cohort`,
    best: `${prefix}best_events`,
  };
  const ctx: CriteriaContext = { cdm, codesets: t.codesets };
  const id = options.cohortId;
  const isPostgres = options.dialect === 'postgres';
  const analyze = (table: string) => (isPostgres ? [`ANALYZE ${table}`] : []);
  // Drops name the temporary schema so they can never touch a permanent table of that name.
  const dropTemp = (table: string) => `DROP TABLE IF EXISTS ${isPostgres ? 'pg_temp' : 'temp.main'}.${table}`;
  const statements: string[] = Object.values(t).map(dropTemp);

  // 1. Concept sets.
  const conceptSets = parsed.ConceptSets ?? [];
  const seen = new Set<number>();
  for (const [i, cs] of conceptSets.entries()) {
    if (seen.has(cs.id))
      throw new ItdaError('validation_failed', `ConceptSets[${i}].id ${cs.id} is used by two concept sets`);
    seen.add(cs.id);
  }
  statements.push(
    `CREATE TEMP TABLE ${t.codesets} (codeset_id INTEGER NOT NULL, concept_id BIGINT NOT NULL)`,
  );
  for (const cs of conceptSets)
    statements.push(
      [
        `-- concept set ${cs.id}${cs.name ? `: ${cs.name.replace(/[\r\n]+/g, ' ')}` : ''}`,
        `INSERT INTO ${t.codesets} (codeset_id, concept_id)`,
        `SELECT ${cs.id}, concept_id FROM (`,
        indent(conceptSetQuery(cs, vocab)),
        ') S',
      ].join('\n'),
    );
  statements.push(...analyze(t.codesets));

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
  statements.push(
    [
      '-- primary (entry) events, numbered per person',
      `CREATE TEMP TABLE ${t.primary} AS`,
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
      `  WHERE ${addDays('OP.observation_period_start_date', priorDays)} <= E.start_date`,
      `    AND ${addDays('E.start_date', postDays)} <= OP.observation_period_end_date`,
      ') P',
      ...(primaryLimit === 'all' ? [] : ['WHERE P.ordinal = 1']),
    ].join('\n'),
    ...analyze(t.primary),
  );

  // 3. Qualified events. Circe applies the qualified limit only when AdditionalCriteria is present.
  const additional = parsed.AdditionalCriteria;
  const qualifiedLimit = limitType(parsed.QualifiedLimit);
  const applyQualifiedLimit = additional != null && qualifiedLimit !== 'all';
  const additionalJoin = isGroupEmpty(additional)
    ? []
    : [
        '  JOIN (',
        indent(groupQuery(additional!, t.primary, ctx, 'AdditionalCriteria'), 4),
        '  ) AC ON AC.person_id = pe.person_id AND AC.event_id = pe.event_id',
      ];
  statements.push(
    [
      '-- qualified events (additional criteria)',
      `CREATE TEMP TABLE ${t.qualified} AS`,
      'SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date, visit_occurrence_id',
      'FROM (',
      '  SELECT pe.event_id, pe.person_id, pe.start_date, pe.end_date, pe.op_start_date, pe.op_end_date, pe.visit_occurrence_id,',
      `    row_number() OVER (PARTITION BY pe.person_id ORDER BY pe.start_date ${qualifiedLimit === 'last' ? 'DESC' : 'ASC'}, pe.event_id) AS ordinal`,
      `  FROM ${t.primary} pe`,
      ...additionalJoin,
      ') QE',
      ...(applyQualifiedLimit ? ['WHERE QE.ordinal = 1'] : []),
    ].join('\n'),
    ...analyze(t.qualified),
  );

  // 4. Inclusion rules.
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
  if (rules.length === 0)
    statements.push(
      `CREATE TEMP TABLE ${t.inclusion} (inclusion_rule_id INTEGER, rule_mask BIGINT, person_id BIGINT, event_id BIGINT)`,
    );
  else
    statements.push(
      [
        '-- inclusion rules: one row per (rule, qualified event) that passes the rule',
        `CREATE TEMP TABLE ${t.inclusion} AS`,
        rules
          .map((rule, i) =>
            [
              `SELECT CAST(${i} AS INTEGER) AS inclusion_rule_id, CAST(${(1n << BigInt(i)).toString()} AS BIGINT) AS rule_mask, R.person_id, R.event_id`,
              'FROM (',
              indent(groupQuery(rule.expression, t.qualified, ctx, `InclusionRules[${i}].expression`)),
              `) R -- ${(rule.name ?? `rule ${i}`).replace(/[\r\n]+/g, ' ')}`,
            ].join('\n'),
          )
          .join('\nUNION ALL\n'),
      ].join('\n'),
      ...analyze(t.inclusion),
    );
  const fullMask = ((1n << BigInt(rules.length)) - 1n).toString();
  const expressionLimit = limitType(parsed.ExpressionLimit);
  const maskedEvents =
    rules.length === 0
      ? [
          '  SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date',
          `  FROM ${t.qualified}`,
        ]
      : [
          '  SELECT Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date, Q.op_end_date',
          `  FROM ${t.qualified} Q`,
          `  JOIN ${t.inclusion} I ON I.person_id = Q.person_id AND I.event_id = Q.event_id`,
          '  GROUP BY Q.event_id, Q.person_id, Q.start_date, Q.end_date, Q.op_start_date, Q.op_end_date',
          `  HAVING SUM(I.rule_mask) = ${fullMask}`,
        ];
  statements.push(
    [
      '-- included events: every inclusion rule passes; expression limit',
      `CREATE TEMP TABLE ${t.included} AS`,
      'SELECT event_id, person_id, start_date, end_date, op_start_date, op_end_date',
      'FROM (',
      `  SELECT MG.*, row_number() OVER (PARTITION BY MG.person_id ORDER BY MG.start_date ${expressionLimit === 'last' ? 'DESC' : 'ASC'}, MG.event_id) AS ordinal`,
      '  FROM (',
      indent(maskedEvents.join('\n'), 2),
      '  ) MG',
      ') R',
      ...(expressionLimit === 'all' ? [] : ['WHERE R.ordinal = 1']),
    ].join('\n'),
  );

  // 5. Cohort exits.
  const endSelects: string[] = [];
  const strategy = parsed.EndStrategy;
  const dateOffset = strategy?.DateOffset;
  const customEra = strategy?.CustomEra;
  if (dateOffset && customEra)
    throw new ItdaError('validation_failed', 'EndStrategy names both DateOffset and CustomEra');
  if (!dateOffset)
    endSelects.push(
      `-- default exit: end of the observation period\nSELECT event_id, person_id, op_end_date AS end_date FROM ${t.included}`,
    );
  if (dateOffset) {
    const field = dateOffset.DateField === 'EndDate' ? 'end_date' : 'start_date';
    const shifted = addDays(field, dateOffset.Offset ?? 0);
    statements.push(
      [
        '-- end strategy: fixed offset, never past the observation period',
        `CREATE TEMP TABLE ${t.strategyEnds} AS`,
        `SELECT event_id, person_id, CASE WHEN ${shifted} > op_end_date THEN op_end_date ELSE ${shifted} END AS end_date`,
        `FROM ${t.included}`,
      ].join('\n'),
    );
    endSelects.push(`SELECT event_id, person_id, end_date FROM ${t.strategyEnds}`);
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
    statements.push(
      [
        '-- end strategy: continuous drug exposure (custom era)',
        `CREATE TEMP TABLE ${t.drugTarget} AS`,
        drugRows('drug_concept_id'),
        'UNION ALL',
        drugRows('drug_source_concept_id'),
      ].join('\n'),
      [
        `CREATE TEMP TABLE ${t.strategyEnds} AS`,
        'SELECT et.event_id, et.person_id, ERAS.era_end_date AS end_date',
        `FROM ${t.included} et`,
        'JOIN (',
        indent(eraCollapse(t.drugTarget, gap + offset, gap, 'era_start_date', 'era_end_date')),
        ') ERAS ON ERAS.person_id = et.person_id',
        'WHERE et.start_date >= ERAS.era_start_date AND et.start_date <= ERAS.era_end_date',
      ].join('\n'),
    );
    endSelects.push(`SELECT event_id, person_id, end_date FROM ${t.strategyEnds}`);
  }
  for (const [i, censor] of (parsed.CensoringCriteria ?? []).entries())
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
  statements.push(
    [
      '-- each included event ends at its earliest exit on or after its start',
      `CREATE TEMP TABLE ${t.cohortRows} AS`,
      'SELECT I.person_id, I.start_date, MIN(CE.end_date) AS end_date',
      `FROM ${t.included} I`,
      'JOIN (',
      indent(endSelects.join('\nUNION ALL\n')),
      ') CE ON CE.event_id = I.event_id AND CE.person_id = I.person_id AND CE.end_date >= I.start_date',
      'GROUP BY I.event_id, I.person_id, I.start_date',
    ].join('\n'),
  );
  const eraPad = parsed.CollapseSettings?.EraPad ?? 0;
  statements.push(
    [
      `-- collapse overlapping periods into eras (era pad ${eraPad} days)`,
      `CREATE TEMP TABLE ${t.final} AS`,
      eraCollapse(t.cohortRows, eraPad, eraPad, 'start_date', 'end_date'),
    ].join('\n'),
  );

  const censorStart = parsed.CensorWindow?.StartDate;
  const censorEnd = parsed.CensorWindow?.EndDate;
  const startOut = censorStart
    ? `CASE WHEN start_date > ${dateLiteral(censorStart)} THEN start_date ELSE ${dateLiteral(censorStart)} END`
    : 'start_date';
  const endOut = censorEnd
    ? `CASE WHEN end_date < ${dateLiteral(censorEnd)} THEN end_date ELSE ${dateLiteral(censorEnd)} END`
    : 'end_date';
  statements.push(
    `DELETE FROM ${results}.cohort WHERE cohort_definition_id = ${id}`,
    [
      `INSERT INTO ${results}.cohort (cohort_definition_id, subject_id, cohort_start_date, cohort_end_date)`,
      `SELECT ${id}, person_id, ${startOut}, ${endOut}`,
      `FROM ${t.final}`,
      ...(censorStart || censorEnd ? [`WHERE ${startOut} <= ${endOut}`] : []),
    ].join('\n'),
  );

  // 6. Statistics.
  statements.push(`DELETE FROM ${results}.cohort_censor_stats WHERE cohort_definition_id = ${id}`);
  if (censorStart || censorEnd)
    statements.push(
      [
        `INSERT INTO ${results}.cohort_censor_stats (cohort_definition_id, lost_count)`,
        `SELECT ${id}, COALESCE(FC.total - TC.total, 0)`,
        `FROM (SELECT COUNT(DISTINCT person_id) AS total FROM ${t.final}) FC,`,
        `  (SELECT COUNT(DISTINCT subject_id) AS total FROM ${results}.cohort WHERE cohort_definition_id = ${id}) TC`,
      ].join('\n'),
    );
  statements.push(`DELETE FROM ${results}.cohort_inclusion WHERE cohort_definition_id = ${id}`);
  for (const rule of inclusionRules)
    statements.push(
      `INSERT INTO ${results}.cohort_inclusion (cohort_definition_id, rule_sequence, name, description) VALUES (${id}, ${rule.ruleSequence}, ${stringLiteral(rule.name)}, ${rule.description == null ? 'NULL' : stringLiteral(rule.description)})`,
    );
  for (const table of ['cohort_inclusion_result', 'cohort_inclusion_stats', 'cohort_summary_stats'])
    statements.push(`DELETE FROM ${results}.${table} WHERE cohort_definition_id = ${id}`);
  if (rules.length === 0) {
    // Circe writes no attrition without rules; the summary still gives the base count.
    statements.push(
      [
        `INSERT INTO ${results}.cohort_summary_stats (cohort_definition_id, base_count, final_count, mode_id)`,
        `SELECT ${id}, COUNT(*), COUNT(*), 0 FROM ${t.qualified}`,
        'UNION ALL',
        `SELECT ${id}, COUNT(DISTINCT person_id), COUNT(DISTINCT person_id), 1 FROM ${t.qualified}`,
      ].join('\n'),
    );
  } else {
    statements.push(
      [
        "-- the 'best' event per person: most rules passed, then earliest first rule, then earliest",
        `CREATE TEMP TABLE ${t.best} AS`,
        'SELECT person_id, event_id FROM (',
        '  SELECT R.person_id, R.event_id,',
        '    row_number() OVER (PARTITION BY R.person_id ORDER BY R.rule_count DESC, R.min_rule_id ASC, R.start_date ASC, R.event_id ASC) AS rank_value',
        '  FROM (',
        '    SELECT Q.person_id, Q.event_id, Q.start_date, COUNT(DISTINCT I.inclusion_rule_id) AS rule_count,',
        '      COALESCE(MIN(I.inclusion_rule_id), 0) AS min_rule_id',
        `    FROM ${t.qualified} Q`,
        `    LEFT JOIN ${t.inclusion} I ON I.person_id = Q.person_id AND I.event_id = Q.event_id`,
        '    GROUP BY Q.person_id, Q.event_id, Q.start_date',
        '  ) R',
        ') ranked',
        'WHERE rank_value = 1',
      ].join('\n'),
    );
    const ruleRows = inclusionRules
      .map((r) => {
        const allButThis = ((1n << BigInt(rules.length)) - 1n - (1n << BigInt(r.ruleSequence))).toString();
        return `(${r.ruleSequence}, CAST(${allButThis} AS BIGINT))`;
      })
      .join(', ');
    for (const [mode, events] of [
      [0, t.qualified],
      [1, t.best],
    ] as const) {
      statements.push(
        [
          `-- mode ${mode}: persons per inclusion-rule mask (${mode === 0 ? 'all events' : 'best event'})`,
          `INSERT INTO ${results}.cohort_inclusion_result (cohort_definition_id, inclusion_rule_mask, person_count, mode_id)`,
          `SELECT ${id}, inclusion_rule_mask, COUNT(*), ${mode}`,
          'FROM (',
          '  SELECT Q.person_id, Q.event_id, CAST(COALESCE(SUM(I.rule_mask), 0) AS BIGINT) AS inclusion_rule_mask',
          `  FROM ${events} Q`,
          `  LEFT JOIN ${t.inclusion} I ON I.person_id = Q.person_id AND I.event_id = Q.event_id`,
          '  GROUP BY Q.person_id, Q.event_id',
          ') MG',
          'GROUP BY inclusion_rule_mask',
        ].join('\n'),
        [
          `INSERT INTO ${results}.cohort_inclusion_stats (cohort_definition_id, rule_sequence, person_count, gain_count, person_total, mode_id)`,
          `SELECT ${id}, ir.rule_sequence, COALESCE(T.person_count, 0), COALESCE(SR.person_count, 0), EventTotal.total, ${mode}`,
          `FROM (VALUES ${ruleRows}) AS ir (rule_sequence, all_but_this_mask)`,
          'LEFT JOIN (',
          '  SELECT I.inclusion_rule_id, COUNT(I.event_id) AS person_count',
          `  FROM ${events} Q`,
          `  JOIN ${t.inclusion} I ON I.person_id = Q.person_id AND I.event_id = Q.event_id`,
          '  GROUP BY I.inclusion_rule_id',
          ') T ON T.inclusion_rule_id = ir.rule_sequence',
          `CROSS JOIN (SELECT COUNT(*) AS total FROM ${events}) EventTotal`,
          `LEFT JOIN ${results}.cohort_inclusion_result SR ON SR.cohort_definition_id = ${id} AND SR.mode_id = ${mode}`,
          '  AND SR.inclusion_rule_mask = ir.all_but_this_mask',
        ].join('\n'),
        [
          `INSERT INTO ${results}.cohort_summary_stats (cohort_definition_id, base_count, final_count, mode_id)`,
          `SELECT ${id}, PC.total, COALESCE(FC.total, 0), ${mode}`,
          `FROM (SELECT COUNT(*) AS total FROM ${events}) PC,`,
          `  (SELECT SUM(person_count) AS total FROM ${results}.cohort_inclusion_result`,
          `   WHERE cohort_definition_id = ${id} AND mode_id = ${mode} AND inclusion_rule_mask = ${fullMask}) FC`,
        ].join('\n'),
      );
    }
  }

  statements.push(...Object.values(t).map(dropTemp));
  return { dialect: options.dialect, cohortId: id, statements, inclusionRules, expression: parsed };
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
