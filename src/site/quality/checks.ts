/**
 * The DQD checks as SQL, for DuckDB and PostgreSQL alike, in two forms:
 *
 * - batched, for the run: the checks of a table are answered by a handful of queries —
 *   its plain scan with one aggregate pair per row-level check (foreign keys to other
 *   tables joined there, one-to-one); one query joined once to each person's birth and
 *   death dates and one joined to the visit; one grouped pass giving a histogram of every
 *   concept and source-value column, the concepts joined once to CONCEPT (foreign key,
 *   domain, class, standard/valid and distinct source values are read off it); and one
 *   grouped query per concept-level check kind (gender, gender by descendants, units)
 *   rather than one per concept. Persons without records are counted for every table in
 *   one pass over PERSON. A declared primary key needs no grouping, and a column the
 *   store types as an integer holds no fraction;
 * - alone, one straightforward SELECT per check in the shape DQD itself uses, so a test
 *   can show that batching never changes an answer.
 */
import { quoteIdent } from '../../omop/ddl.ts';
import type { Row } from '../store/store.ts';
import type { CheckDescription, CsvRow, DqdSpec } from './spec.ts';

/** Violated and denominator row counts of one check. */
export interface CheckCounts {
  violated: number;
  denominator: number;
}

/** How the batched run answers a check. */
export type BatchedAnswer =
  /** Known without reading any rows (the schema checks). */
  | ({ kind: 'known' } & CheckCounts)
  /** An aggregate pair (violated, denominator) within one single-row query. */
  | { kind: 'aggregate'; query: string; violated: string; denominator: string }
  /** Counted from the rows of a grouped query. */
  | { kind: 'grouped'; query: string; count: (rows: readonly Row[]) => CheckCounts };

/** One check on one table, field or concept, with the SQL that answers it. */
export interface CheckInstance {
  id: string;
  description: CheckDescription;
  table: string;
  field: string | null;
  conceptId: number | null;
  unitConceptId: number | null;
  thresholdPercent: number;
  /** Checks that still apply to an empty table: they are about the schema itself. */
  schemaCheck: boolean;
  batched: BatchedAnswer;
  /** The check on its own: one SELECT returning `v` (violated rows) and `d` (denominator). */
  alone: string;
}

/** A single-row query answering many `aggregate` checks: `SELECT <pairs> FROM <from>`. */
export interface AggregateQuery {
  key: string;
  table: string;
  from: string;
}

/** A query whose rows answer many `grouped` checks. */
export interface GroupedQuery {
  key: string;
  table: string;
  sql: string;
}

export interface CheckPlan {
  checks: CheckInstance[];
  aggregates: AggregateQuery[];
  grouped: GroupedQuery[];
}

/** Columns of each CDM table as found in the store: table → column → data type. */
export type PresentColumns = Map<string, Map<string, string>>;
/** Single-column PRIMARY KEY constraints the store declares: table → column. */
export type PrimaryKeys = Map<string, string>;

const yes = (v: string | undefined) => v === 'Yes';
const num = (v: string | undefined) => (v === undefined || v === '' ? 0 : Number(v));
const lit = (value: string) => `'${value.replaceAll("'", "''")}'`;
const ids = (list: string) =>
  list
    .split(',')
    .map((id) => Number(id.trim()))
    .filter(Number.isFinite);
const INTEGER_TYPES = new Set(['integer', 'bigint', 'smallint', 'tinyint', 'hugeint', 'int4', 'int8']);
const MALE = 8507;
const FEMALE = 8532;

function fill(template: string, values: Record<string, string | number | null>): string {
  return template.replace(/@(\w+)/g, (whole, name: string) =>
    name in values ? String(values[name] ?? '') : whole,
  );
}

/** A DQD threshold bound (`'19500101'`, `DATEADD(dd,1,GETDATE())`, `YEAR(GETDATE())+1`, `365`) as SQL. */
export function boundSql(bound: string, isDate: boolean): string | undefined {
  const trimmed = bound.trim();
  const date = /^'(\d{4})(\d{2})(\d{2})'$/.exec(trimmed);
  if (date) return `DATE '${date[1]}-${date[2]}-${date[3]}'`;
  if (/^DATEADD\(dd,\s*1,\s*GETDATE\(\)\)$/i.test(trimmed)) return 'CURRENT_DATE + 1';
  if (/^YEAR\(GETDATE\(\)\)\s*\+\s*1$/i.test(trimmed)) return 'EXTRACT(YEAR FROM CURRENT_DATE) + 1';
  if (!isDate && /^-?\d+(\.\d+)?$/.test(trimmed)) return trimmed;
  return undefined;
}

/** Sums `n` over the rows `select` picks (denominator) and over those that also `violate`. */
function countRows(
  rows: readonly Row[],
  select: (row: Row) => boolean,
  violates: (row: Row) => boolean,
): CheckCounts {
  let violated = 0;
  let denominator = 0;
  for (const row of rows) {
    if (!select(row)) continue;
    denominator += Number(row.n);
    if (violates(row)) violated += Number(row.n);
  }
  return { violated, denominator };
}

/**
 * Plans every DQD check of `spec` that the store's tables and columns allow (DQD v2.8,
 * CDM v5.4 thresholds), each with its batched answer and its stand-alone SQL.
 */
export function planChecks(
  spec: DqdSpec,
  schema: string,
  present: PresentColumns,
  primaryKeys: PrimaryKeys = new Map(),
): CheckPlan {
  const s = quoteIdent(schema);
  const tableSql = (table: string) => `${s}.${quoteIdent(table)}`;
  const describe = new Map(spec.checks.map((c) => [c.checkName, c]));
  const checks: CheckInstance[] = [];
  const aggregates = new Map<string, AggregateQuery>();
  const joins = new Map<string, Map<string, string>>();
  const grouped = new Map<string, { table: string; build: () => string }>();
  const birth = (p: string) =>
    `COALESCE(CAST(${p}.birth_datetime AS DATE), CASE WHEN ${p}.year_of_birth BETWEEN 1 AND 9999 THEN make_date(${p}.year_of_birth, 1, 1) END)`;
  const firstDeath = `(SELECT person_id, min(death_date) AS death_date FROM ${s}.death GROUP BY person_id)`;
  const alone = (from: string, violated: string, denominator: string) =>
    `SELECT ${violated} AS v, ${denominator} AS d${from ? ` FROM ${from}` : ''}`;

  const aggregate = (key: string, table: string, from: string) => {
    if (!aggregates.has(key)) {
      aggregates.set(key, { key, table, from });
      joins.set(key, new Map());
    }
    return key;
  };
  const join = (key: string, alias: string, sql: string) => joins.get(key)!.set(alias, sql);
  const add = (
    name: string,
    table: string,
    field: string | null,
    threshold: number,
    batched: BatchedAnswer,
    aloneSql: string,
    extra: Partial<Pick<CheckInstance, 'conceptId' | 'unitConceptId'>> = {},
  ) => {
    const description = describe.get(name);
    if (!description) return;
    const id = [name, table, field, extra.conceptId, extra.unitConceptId]
      .filter((p) => p !== null && p !== undefined)
      .join('.');
    checks.push({
      id,
      description: {
        ...description,
        description: fill(description.description, {
          cdmTableName: table,
          cdmFieldName: field,
          conceptId: extra.conceptId ?? null,
        }),
      },
      table,
      field,
      conceptId: null,
      unitConceptId: null,
      thresholdPercent: threshold,
      schemaCheck: name === 'cdmTable' || name === 'cdmField',
      batched,
      alone: aloneSql,
      ...extra,
    });
  };
  const lower = (column: string) => `lower(${column})`;

  for (const t of spec.tables) {
    const table = t.cdmTableName!;
    add(
      'cdmTable',
      table,
      null,
      0,
      { kind: 'known', violated: present.has(table) ? 0 : 1, denominator: 1 },
      alone(
        '',
        `CASE WHEN EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = ${lit(schema)} AND ${lower('table_name')} = ${lit(table)}) THEN 0 ELSE 1 END`,
        '1',
      ),
    );
    if (!present.has(table)) continue;
    if (yes(t.measurePersonCompleteness) && table !== 'person') {
      // One pass over PERSON answers the completeness of every table, each table's distinct
      // persons joined one-to-one (a correlated NOT EXISTS inside FILTER would be run per person).
      const key = aggregate('person-completeness', 'person', `${s}.person p`);
      const alias = `in_${table}`;
      join(
        key,
        alias,
        `LEFT JOIN (SELECT DISTINCT person_id FROM ${tableSql(table)}) ${alias} ON ${alias}.person_id = p.person_id`,
      );
      add(
        'measurePersonCompleteness',
        table,
        null,
        num(t.measurePersonCompletenessThreshold),
        {
          kind: 'aggregate',
          query: key,
          violated: `count(*) FILTER (WHERE ${alias}.person_id IS NULL)`,
          denominator: 'count(*)',
        },
        alone(
          `${s}.person p`,
          `count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM ${tableSql(table)} e WHERE e.person_id = p.person_id))`,
          'count(*)',
        ),
      );
    }
    if (yes(t.measureConditionEraCompleteness)) {
      const violated = `(SELECT count(DISTINCT co.person_id) FROM ${s}.condition_occurrence co WHERE NOT EXISTS (SELECT 1 FROM ${s}.condition_era ce WHERE ce.person_id = co.person_id))`;
      const denominator = `(SELECT count(DISTINCT person_id) FROM ${s}.condition_occurrence)`;
      add(
        'measureConditionEraCompleteness',
        table,
        null,
        num(t.measureConditionEraCompletenessThreshold),
        { kind: 'aggregate', query: aggregate('era-completeness', table, ''), violated, denominator },
        alone('', violated, denominator),
      );
    }
    if (yes(t.measureObservationPeriodOverlap)) {
      const violated = `(SELECT count(DISTINCT a.person_id) FROM ${s}.observation_period a JOIN ${s}.observation_period b ON a.person_id = b.person_id AND a.observation_period_id <> b.observation_period_id AND a.observation_period_start_date <= b.observation_period_end_date + 1 AND b.observation_period_start_date <= a.observation_period_end_date + 1)`;
      const denominator = `(SELECT count(DISTINCT person_id) FROM ${s}.observation_period)`;
      add(
        'measureObservationPeriodOverlap',
        table,
        null,
        num(t.measureObservationPeriodOverlapThreshold),
        { kind: 'aggregate', query: aggregate('period-overlap', table, ''), violated, denominator },
        alone('', violated, denominator),
      );
    }
  }

  /**
   * One grouped pass over a table gives a row per value of each concept column and each
   * source-value column, with its row count (and, for a source value, whether any of its
   * rows has no standard concept); concept values are joined once to CONCEPT. The concept
   * checks sum row counts, the source-value checks count distinct values.
   */
  type Binned = { column: string; standard: string | null };
  const binned = new Map<string, Binned[]>();
  const bin = (table: string, column: string, standard: string | null) => {
    const key = `bins:${table}`;
    let columns = binned.get(key);
    if (!columns) {
      columns = [];
      binned.set(key, columns);
      aggregate(key, table, '');
    }
    let k = columns.findIndex((c) => c.column === column);
    if (k < 0) k = columns.push({ column, standard }) - 1;
    return { query: key, k };
  };
  // (A CDM table has at most a dozen such columns, well inside GROUPING's 31 arguments.)
  const histogram = (table: string, columns: readonly Binned[]) => {
    const quoted = columns.map((c) => quoteIdent(c.column));
    const all = (1 << columns.length) - 1;
    // GROUPING(...) sets the bit of every column not grouped; map it back to the column.
    const which = columns.map((_, i) => `WHEN ${all - (1 << (columns.length - 1 - i))} THEN ${i}`).join(' ');
    const pick = (source: boolean) =>
      columns
        .map((c, i) => ((c.standard !== null) === source ? `WHEN ${i} THEN ${quoted[i]}` : ''))
        .join(' ')
        .trim();
    const concepts = pick(false);
    const sources = pick(true);
    const unmapped = columns.flatMap((c, i) =>
      c.standard === null ? [] : [`bool_or(${quoteIdent(c.standard)} = 0) AS z${i}`],
    );
    return (
      `(SELECT ${concepts ? `CASE k ${concepts} END` : 'CAST(NULL AS INTEGER)'} AS id, ` +
      `${sources ? `CASE k ${sources} END` : 'CAST(NULL AS VARCHAR)'} AS sv, g.* FROM ` +
      `(SELECT CASE GROUPING(${quoted.join(', ')}) ${which} END AS k, ${[...quoted, 'count(*) AS n', ...unmapped].join(', ')} ` +
      `FROM ${tableSql(table)} GROUP BY GROUPING SETS (${quoted.map((q) => `(${q})`).join(', ')})) g) h` +
      (concepts ? ` LEFT JOIN ${s}.concept c ON c.concept_id = h.id` : '')
    );
  };

  for (const f of spec.fields) {
    const table = f.cdmTableName!;
    const field = f.cdmFieldName!;
    const columns = present.get(table);
    if (!columns) continue;
    add(
      'cdmField',
      table,
      field,
      0,
      { kind: 'known', violated: columns.has(field) ? 0 : 1, denominator: 1 },
      alone(
        '',
        `CASE WHEN EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = ${lit(schema)} AND ${lower('table_name')} = ${lit(table)} AND ${lower('column_name')} = ${lit(field)}) THEN 0 ELSE 1 END`,
        '1',
      ),
    );
    if (!columns.has(field)) continue;
    const q = aggregate(`scan:${table}`, table, `${tableSql(table)} x`);
    const own = `${tableSql(table)} x`;
    const x = `x.${quoteIdent(field)}`;
    const isDate = f.cdmDatatype === 'date' || f.cdmDatatype === 'datetime';
    const asDate = isDate ? `CAST(${x} AS DATE)` : x;
    const rows = 'count(*)';
    const notNull = `count(${x})`;
    // Null rows as all rows less the non-null ones: no per-row filter to evaluate.
    const nulls = `count(*) - count(${x})`;
    /**
     * A check answered by one of the table's single-row queries (its plain scan unless
     * `query` names a joined one); `batchedViolated` when that query says it differently.
     */
    const scanCheck = (
      name: string,
      thresholdColumn: string,
      violated: string,
      denominator: string,
      from: string,
      batchedViolated = violated,
      batchedDenominator = denominator,
      query = q,
    ) =>
      add(
        name,
        table,
        field,
        num(f[thresholdColumn]),
        { kind: 'aggregate', query, violated: batchedViolated, denominator: batchedDenominator },
        alone(from, violated, denominator),
      );

    if (yes(f.isRequired))
      scanCheck(
        'isRequired',
        'isRequiredThreshold',
        `count(*) FILTER (WHERE ${x} IS NULL)`,
        rows,
        own,
        nulls,
      );
    if (f.cdmDatatype?.toLowerCase() === 'integer') {
      // A column the store itself types as an integer cannot hold a fraction: nothing to read.
      const integerTyped = INTEGER_TYPES.has(columns.get(field)!.toLowerCase());
      scanCheck(
        'cdmDatatype',
        'cdmDatatypeThreshold',
        `count(*) FILTER (WHERE ${x} IS NOT NULL AND CAST(${x} AS VARCHAR) LIKE '%.%')`,
        rows,
        own,
        integerTyped ? '0' : undefined,
      );
    }
    if (yes(f.isPrimaryKey)) {
      const from = `(SELECT count(*) AS n FROM ${tableSql(table)} GROUP BY ${quoteIdent(field)}) g`;
      const violated = 'COALESCE(sum(n) FILTER (WHERE n > 1), 0)';
      // A declared PRIMARY KEY is unique and never null: nothing to group.
      const declared = primaryKeys.get(table) === field;
      add(
        'isPrimaryKey',
        table,
        field,
        num(f.isPrimaryKeyThreshold),
        declared
          ? { kind: 'aggregate', query: q, violated: '0', denominator: rows }
          : {
              kind: 'aggregate',
              query: aggregate(`pk:${table}:${field}`, table, from),
              violated,
              denominator: 'COALESCE(sum(n), 0)',
            },
        alone(from, violated, 'COALESCE(sum(n), 0)'),
      );
    }
    if (yes(f.isForeignKey) && f.fkTableName) {
      const fkTable = f.fkTableName.toLowerCase();
      const fkField = (f.fkFieldName ?? '').toLowerCase();
      if (fkTable === 'concept' && present.get('concept')?.has('concept_id')) {
        const { query: bins, k } = bin(table, field, null);
        const sum = (where: string) => `COALESCE(sum(h.n) FILTER (WHERE h.k = ${k}${where}), 0)`;
        const withConcept = `${own} LEFT JOIN ${s}.concept c ON c.concept_id = ${x}`;
        /** `violated` is a condition on a row's concept `c`; on the histogram it holds for a value's rows. */
        const conceptCheck = (name: string, thresholdColumn: string, condition: string) =>
          add(
            name,
            table,
            field,
            num(f[thresholdColumn]),
            {
              kind: 'aggregate',
              query: bins,
              violated: sum(` AND ${condition.replaceAll(x, 'h.id')}`),
              denominator: sum(''),
            },
            alone(withConcept, `count(*) FILTER (WHERE ${condition})`, rows),
          );
        conceptCheck('isForeignKey', 'isForeignKeyThreshold', `${x} IS NOT NULL AND c.concept_id IS NULL`);
        if (f.fkDomain) {
          const domains = f.fkDomain
            .split(',')
            .map((d) => lit(d.trim()))
            .join(', ');
          conceptCheck(
            'fkDomain',
            'fkDomainThreshold',
            `c.concept_id <> 0 AND c.domain_id NOT IN (${domains})`,
          );
        }
        if (f.fkClass) {
          conceptCheck(
            'fkClass',
            'fkClassThreshold',
            `c.concept_id <> 0 AND c.concept_class_id <> ${lit(f.fkClass)}`,
          );
        }
        if (yes(f.isStandardValidConcept)) {
          conceptCheck(
            'isStandardValidConcept',
            'isStandardValidConceptThreshold',
            `c.concept_id <> 0 AND (COALESCE(c.standard_concept, '') <> 'S' OR c.invalid_reason IS NOT NULL)`,
          );
        }
      } else if (fkTable !== 'concept' && present.get(fkTable)?.has(fkField)) {
        const alias = `fk_${field}`;
        const key = quoteIdent(fkField);
        // Distinct (or declared primary) keys join one-to-one, so they share the table's scan.
        const keys =
          primaryKeys.get(fkTable) === fkField
            ? tableSql(fkTable)
            : `(SELECT DISTINCT ${key} FROM ${tableSql(fkTable)})`;
        join(q, alias, `LEFT JOIN ${keys} ${alias} ON ${alias}.${key} = ${x}`);
        scanCheck(
          'isForeignKey',
          'isForeignKeyThreshold',
          `count(*) FILTER (WHERE ${x} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${tableSql(fkTable)} r WHERE r.${key} = ${x}))`,
          rows,
          own,
          `count(*) FILTER (WHERE ${x} IS NOT NULL AND ${alias}.${key} IS NULL)`,
        );
      }
    }
    if (yes(f.measureValueCompleteness)) {
      scanCheck(
        'measureValueCompleteness',
        'measureValueCompletenessThreshold',
        `count(*) FILTER (WHERE ${x} IS NULL)`,
        rows,
        own,
        nulls,
      );
    }
    for (const name of ['standardConceptRecordCompleteness', 'sourceConceptRecordCompleteness'] as const) {
      if (yes(f[name])) scanCheck(name, `${name}Threshold`, `count(*) FILTER (WHERE ${x} = 0)`, rows, own);
    }
    if (yes(f.sourceValueCompleteness) && f.standardConceptFieldName) {
      const standard = `x.${quoteIdent(f.standardConceptFieldName.toLowerCase())}`;
      if (columns.has(f.standardConceptFieldName.toLowerCase())) {
        // Distinct values from the table's histogram (a distinct count in the plain scan
        // would slow every other aggregate of it).
        const { query, k } = bin(table, field, f.standardConceptFieldName.toLowerCase());
        scanCheck(
          'sourceValueCompleteness',
          'sourceValueCompletenessThreshold',
          `count(DISTINCT ${x}) FILTER (WHERE ${standard} = 0)`,
          `count(DISTINCT ${x})`,
          own,
          `count(*) FILTER (WHERE h.k = ${k} AND h.sv IS NOT NULL AND h.z${k})`,
          `count(*) FILTER (WHERE h.k = ${k} AND h.sv IS NOT NULL)`,
          query,
        );
      }
    }
    for (const [name, op] of [
      ['plausibleValueLow', '<'],
      ['plausibleValueHigh', '>'],
    ] as const) {
      const bound = f[name] ? boundSql(f[name]!, isDate) : undefined;
      if (bound)
        scanCheck(name, `${name}Threshold`, `count(*) FILTER (WHERE ${asDate} ${op} ${bound})`, notNull, own);
    }
    // The person's birth and death dates, joined once per table for every check that needs them.
    const withPerson = `${own} LEFT JOIN ${s}.person p ON p.person_id = x.person_id LEFT JOIN ${firstDeath} dth ON dth.person_id = x.person_id`;
    // In a query of its own, so that duplicate persons could not change the scan's other counts.
    const joinLife = () => {
      const key = aggregate(`life:${table}`, table, own);
      join(
        key,
        'life',
        `LEFT JOIN (SELECT p.person_id, ${birth('p')} AS birth_date, dth.death_date FROM ${s}.person p LEFT JOIN ${firstDeath} dth ON dth.person_id = p.person_id) life ON life.person_id = x.person_id`,
      );
      return key;
    };
    const hasPerson = columns.has('person_id') && table !== 'person';
    if (hasPerson) {
      if (yes(f.plausibleAfterBirth)) {
        scanCheck(
          'plausibleAfterBirth',
          'plausibleAfterBirthThreshold',
          `count(*) FILTER (WHERE ${asDate} < ${birth('p')})`,
          notNull,
          withPerson,
          `count(*) FILTER (WHERE ${asDate} < life.birth_date)`,
          notNull,
          joinLife(),
        );
      }
      for (const name of ['plausibleBeforeDeath', 'plausibleDuringLife'] as const) {
        if (yes(f[name])) {
          scanCheck(
            name,
            `${name}Threshold`,
            `count(*) FILTER (WHERE ${asDate} > dth.death_date + 60)`,
            `count(*) FILTER (WHERE dth.death_date IS NOT NULL AND ${x} IS NOT NULL)`,
            withPerson,
            `count(*) FILTER (WHERE ${asDate} > life.death_date + 60)`,
            `count(*) FILTER (WHERE life.death_date IS NOT NULL AND ${x} IS NOT NULL)`,
            joinLife(),
          );
        }
      }
    }
    if (
      yes(f.plausibleTemporalAfter) &&
      f.plausibleTemporalAfterTableName &&
      f.plausibleTemporalAfterFieldName
    ) {
      const afterTable = f.plausibleTemporalAfterTableName.toLowerCase();
      const afterField = f.plausibleTemporalAfterFieldName.toLowerCase();
      const violated = (other: string) => `count(*) FILTER (WHERE ${asDate} < ${other})`;
      if (afterTable === 'person' && hasPerson) {
        scanCheck(
          'plausibleTemporalAfter',
          'plausibleTemporalAfterThreshold',
          violated(birth('p')),
          notNull,
          withPerson,
          violated('life.birth_date'),
          notNull,
          joinLife(),
        );
      } else if (afterTable === table && columns.has(afterField)) {
        scanCheck(
          'plausibleTemporalAfter',
          'plausibleTemporalAfterThreshold',
          violated(`CAST(x.${quoteIdent(afterField)} AS DATE)`),
          notNull,
          own,
        );
      }
    }
    if (yes(f.plausibleStartBeforeEnd) && f.plausibleStartBeforeEndFieldName) {
      const end = f.plausibleStartBeforeEndFieldName.toLowerCase();
      if (columns.has(end)) {
        scanCheck(
          'plausibleStartBeforeEnd',
          'plausibleStartBeforeEndThreshold',
          `count(*) FILTER (WHERE ${x} > x.${quoteIdent(end)})`,
          `count(*) FILTER (WHERE ${x} IS NOT NULL AND x.${quoteIdent(end)} IS NOT NULL)`,
          own,
        );
      }
    }
    if (yes(f.withinVisitDates) && columns.has('visit_occurrence_id') && table !== 'visit_occurrence') {
      const visit = `LEFT JOIN ${s}.visit_occurrence vo ON vo.visit_occurrence_id = x.visit_occurrence_id`;
      const visits = aggregate(`visit:${table}`, table, own);
      join(visits, 'vo', visit);
      const violated = `count(*) FILTER (WHERE ${asDate} < vo.visit_start_date - 7 OR ${asDate} > vo.visit_end_date + 7)`;
      const denominator = 'count(*) FILTER (WHERE vo.visit_occurrence_id IS NOT NULL)';
      scanCheck(
        'withinVisitDates',
        'withinVisitDatesThreshold',
        violated,
        denominator,
        `${own} ${visit}`,
        violated,
        denominator,
        visits,
      );
    }
  }

  // Concept-level checks: one grouped query per table, field and kind, split per concept after.
  /** A grouped query over the concepts its checks list; `build` gets them as an SQL list. */
  const conceptsOf = (key: string, table: string, build: (concepts: string) => string) => {
    let entry = grouped.get(key) as { table: string; build: () => string; concepts?: number[] } | undefined;
    if (!entry) {
      const concepts: number[] = [];
      // `IN (NULL)` matches nothing: without one usable concept id the SQL stays valid.
      entry = {
        table,
        build: () => build(concepts.length ? [...new Set(concepts)].join(', ') : 'NULL'),
        concepts,
      };
      grouped.set(key, entry);
    }
    return entry.concepts!;
  };
  const descendantSets = new Map<string, number[][]>();
  /** A gender check read off its grouped query's row (`n`, `not_male`, `not_female`). */
  const genderAnswer = (query: string, male: boolean, mine: (row: Row) => boolean): BatchedAnswer => ({
    kind: 'grouped',
    query,
    count: (rows) => {
      const row = rows.find(mine);
      return row
        ? { violated: Number(male ? row.not_male : row.not_female), denominator: Number(row.n) }
        : { violated: 0, denominator: 0 };
    },
  });
  for (const c of spec.concepts) {
    const table = c.cdmTableName!;
    const field = c.cdmFieldName!;
    if (!present.get(table)?.has(field) || !present.get(table)?.has('person_id')) continue;
    const conceptId = Number(c.conceptId);
    const own = `${tableSql(table)} x`;
    const x = `x.${quoteIdent(field)}`;
    if (c.plausibleGender) {
      const key = `gender:${table}:${field}`;
      const listed = conceptsOf(
        key,
        table,
        (concepts) =>
          `SELECT ${x} AS concept_id, count(*) AS n, count(*) FILTER (WHERE p.gender_concept_id <> ${MALE}) AS not_male, ` +
          `count(*) FILTER (WHERE p.gender_concept_id <> ${FEMALE}) AS not_female ` +
          `FROM ${own} JOIN ${s}.person p ON p.person_id = x.person_id WHERE ${x} IN (${concepts}) GROUP BY ${x}`,
      );
      if (Number.isFinite(conceptId)) listed.push(conceptId);
      const male = c.plausibleGender === 'Male';
      const expected = male ? MALE : FEMALE;
      add(
        'plausibleGender',
        table,
        field,
        num(c.plausibleGenderThreshold),
        genderAnswer(key, male, (row) => Number(row.concept_id) === conceptId),
        alone(
          `${own} JOIN ${s}.person p ON p.person_id = x.person_id`,
          `count(*) FILTER (WHERE ${x} = ${conceptId} AND p.gender_concept_id <> ${expected})`,
          `count(*) FILTER (WHERE ${x} = ${conceptId})`,
        ),
        { conceptId },
      );
    }
    if (c.plausibleGenderUseDescendants) {
      const ancestors = ids(c.conceptId!);
      const key = `gender-descendants:${table}:${field}`;
      const pk = `x.${quoteIdent(`${table}_id`)}`;
      let sets = descendantSets.get(key);
      if (!sets) {
        const all: number[][] = [];
        sets = all;
        descendantSets.set(key, all);
        grouped.set(key, {
          table,
          // Each check's ancestor set is numbered, so a record under two of its ancestors counts once.
          build: () =>
            `SELECT g.k, count(DISTINCT ${pk}) AS n, count(DISTINCT ${pk}) FILTER (WHERE p.gender_concept_id <> ${MALE}) AS not_male, ` +
            `count(DISTINCT ${pk}) FILTER (WHERE p.gender_concept_id <> ${FEMALE}) AS not_female ` +
            `FROM ${own} JOIN ${s}.person p ON p.person_id = x.person_id ` +
            `JOIN ${s}.concept_ancestor ca ON ca.descendant_concept_id = ${x} ` +
            `JOIN (VALUES ${all.flatMap((set, k) => set.map((a) => `(${k}, ${a})`)).join(', ')}) g(k, ancestor_concept_id) ON g.ancestor_concept_id = ca.ancestor_concept_id ` +
            'GROUP BY g.k',
        });
      }
      const k = sets.length;
      sets.push(ancestors.length ? ancestors : [-1]);
      const male = c.plausibleGenderUseDescendants === 'Male';
      const expected = male ? MALE : FEMALE;
      add(
        'plausibleGenderUseDescendants',
        table,
        field,
        num(c.plausibleGenderUseDescendantsThreshold),
        genderAnswer(key, male, (row) => Number(row.k) === k),
        alone(
          `${own} JOIN ${s}.person p ON p.person_id = x.person_id JOIN ${s}.concept_ancestor ca ON ca.descendant_concept_id = ${x} AND ca.ancestor_concept_id IN (${ancestors.join(', ')})`,
          `count(DISTINCT ${pk}) FILTER (WHERE p.gender_concept_id <> ${expected})`,
          `count(DISTINCT ${pk})`,
        ),
        { conceptId: ancestors[0] ?? null },
      );
    }
    if (c.plausibleUnitConceptIds) {
      const units = ids(c.plausibleUnitConceptIds);
      const key = `units:${table}:${field}`;
      const listed = conceptsOf(
        key,
        table,
        (concepts) =>
          `SELECT ${x} AS concept_id, x.unit_concept_id AS unit_concept_id, count(*) AS n FROM ${own} ` +
          `WHERE x.value_as_number IS NOT NULL AND ${x} IN (${concepts}) GROUP BY ${x}, x.unit_concept_id`,
      );
      if (Number.isFinite(conceptId)) listed.push(conceptId);
      add(
        'plausibleUnitConceptIds',
        table,
        field,
        num(c.plausibleUnitConceptIdsThreshold),
        {
          kind: 'grouped',
          query: key,
          count: (rows) =>
            countRows(
              rows,
              (row) => Number(row.concept_id) === conceptId,
              (row) => !units.includes(row.unit_concept_id === null ? -1 : Number(row.unit_concept_id)),
            ),
        },
        alone(
          own,
          `count(*) FILTER (WHERE ${x} = ${conceptId} AND x.value_as_number IS NOT NULL AND COALESCE(x.unit_concept_id, -1) NOT IN (${units.join(', ')}))`,
          `count(*) FILTER (WHERE ${x} = ${conceptId} AND x.value_as_number IS NOT NULL)`,
        ),
        { conceptId },
      );
    }
  }

  for (const [key, columns] of binned) {
    aggregates.get(key)!.from = histogram(aggregates.get(key)!.table, columns);
  }
  for (const [key, query] of aggregates) {
    const extra = [...(joins.get(key)?.values() ?? [])];
    if (extra.length) query.from = `${query.from} ${extra.join(' ')}`;
  }
  return {
    checks,
    aggregates: [...aggregates.values()],
    grouped: [...grouped.entries()].map(([key, g]) => ({ key, table: g.table, sql: g.build() })),
  };
}

export type { CsvRow };
