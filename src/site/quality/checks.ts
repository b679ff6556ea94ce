/**
 * The DQD checks as SQL, for DuckDB and PostgreSQL alike. Checks that read the same table
 * are answered by one query (one aggregate pair per check), so a whole run costs a few
 * scans per table rather than one scan per check.
 */
import { quoteIdent } from '../../omop/ddl.ts';
import type { CheckDescription, CsvRow, DqdSpec } from './spec.ts';

/** One check on one table, field or concept, with the SQL expressions that answer it. */
export interface CheckInstance {
  id: string;
  description: CheckDescription;
  table: string;
  field: string | null;
  conceptId: number | null;
  unitConceptId: number | null;
  thresholdPercent: number;
  /** Which query answers it. */
  query: string;
  /** Aggregate expressions (violated rows, denominator rows) within that query. */
  violated: string;
  denominator: string;
}

export interface CheckQuery {
  key: string;
  table: string;
  /** FROM clause with any joins the checks need; empty for scalar subqueries. */
  from: string;
}

const yes = (v: string | undefined) => v === 'Yes';
const num = (v: string | undefined) => (v === undefined || v === '' ? 0 : Number(v));
const lit = (value: string) => `'${value.replaceAll("'", "''")}'`;

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

export function planChecks(
  spec: DqdSpec,
  schema: string,
  present: Map<string, Set<string>>,
): { checks: CheckInstance[]; queries: CheckQuery[] } {
  const s = quoteIdent(schema);
  const describe = new Map(spec.checks.map((c) => [c.checkName, c]));
  const checks: CheckInstance[] = [];
  const queries = new Map<string, CheckQuery>();
  const joins = new Map<string, Map<string, string>>();
  const birth = (p: string) =>
    `COALESCE(CAST(${p}.birth_datetime AS DATE), CASE WHEN ${p}.year_of_birth BETWEEN 1 AND 9999 THEN make_date(${p}.year_of_birth, 1, 1) END)`;

  const scan = (table: string) => {
    const key = `scan:${table}`;
    if (!queries.has(key)) {
      queries.set(key, { key, table, from: `${s}.${quoteIdent(table)} x` });
      joins.set(key, new Map());
    }
    return key;
  };
  const join = (queryKey: string, alias: string, sql: string) => joins.get(queryKey)!.set(alias, sql);
  const add = (
    name: string,
    table: string,
    field: string | null,
    threshold: number,
    query: string,
    violated: string,
    denominator: string,
    extra: Partial<CheckInstance> = {},
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
      query,
      violated,
      denominator,
      ...extra,
    });
  };

  const scalar = (key: string, table: string) => {
    queries.set(key, { key, table, from: '' });
    joins.set(key, new Map());
    return key;
  };
  scalar('presence', 'person');

  for (const t of spec.tables) {
    const table = t.cdmTableName!;
    add(
      'cdmTable',
      table,
      null,
      0,
      'presence',
      `CASE WHEN ${present.has(table) ? 0 : 1} = 1 THEN 1 ELSE 0 END`,
      '1',
    );
    if (!present.has(table)) continue;
    if (yes(t.measurePersonCompleteness) && table !== 'person') {
      const key = `person-completeness:${table}`;
      queries.set(key, { key, table: 'person', from: `${s}.person p` });
      joins.set(key, new Map());
      add(
        'measurePersonCompleteness',
        table,
        null,
        num(t.measurePersonCompletenessThreshold),
        key,
        `count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM ${s}.${quoteIdent(table)} e WHERE e.person_id = p.person_id))`,
        'count(*)',
      );
    }
    if (yes(t.measureConditionEraCompleteness)) {
      add(
        'measureConditionEraCompleteness',
        table,
        null,
        num(t.measureConditionEraCompletenessThreshold),
        scalar('era-completeness', table),
        `(SELECT count(DISTINCT co.person_id) FROM ${s}.condition_occurrence co WHERE NOT EXISTS (SELECT 1 FROM ${s}.condition_era ce WHERE ce.person_id = co.person_id))`,
        `(SELECT count(DISTINCT person_id) FROM ${s}.condition_occurrence)`,
      );
    }
    if (yes(t.measureObservationPeriodOverlap)) {
      add(
        'measureObservationPeriodOverlap',
        table,
        null,
        num(t.measureObservationPeriodOverlapThreshold),
        scalar('period-overlap', table),
        `(SELECT count(DISTINCT a.person_id) FROM ${s}.observation_period a JOIN ${s}.observation_period b ON a.person_id = b.person_id AND a.observation_period_id <> b.observation_period_id AND a.observation_period_start_date <= b.observation_period_end_date + 1 AND b.observation_period_start_date <= a.observation_period_end_date + 1)`,
        `(SELECT count(DISTINCT person_id) FROM ${s}.observation_period)`,
      );
    }
  }

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
      'presence',
      `CASE WHEN ${columns.has(field) ? 0 : 1} = 1 THEN 1 ELSE 0 END`,
      '1',
    );
    if (!columns.has(field)) continue;
    const q = scan(table);
    const x = `x.${quoteIdent(field)}`;
    const isDate = f.cdmDatatype === 'date' || f.cdmDatatype === 'datetime';
    const asDate = isDate ? `CAST(${x} AS DATE)` : x;
    const rows = 'count(*)';
    const notNull = `count(${x})`;
    const fieldCheck = (name: string, thresholdColumn: string, violated: string, denominator = rows) =>
      add(name, table, field, num(f[thresholdColumn]), q, violated, denominator);

    if (yes(f.isRequired))
      fieldCheck('isRequired', 'isRequiredThreshold', `count(*) FILTER (WHERE ${x} IS NULL)`);
    if (f.cdmDatatype?.toLowerCase() === 'integer') {
      fieldCheck(
        'cdmDatatype',
        'cdmDatatypeThreshold',
        `count(*) FILTER (WHERE ${x} IS NOT NULL AND CAST(${x} AS VARCHAR) LIKE '%.%')`,
      );
    }
    if (yes(f.isPrimaryKey)) {
      const key = `pk:${table}`;
      queries.set(key, {
        key,
        table,
        from: `(SELECT count(*) AS n FROM ${s}.${quoteIdent(table)} GROUP BY ${quoteIdent(field)}) g`,
      });
      joins.set(key, new Map());
      add(
        'isPrimaryKey',
        table,
        field,
        num(f.isPrimaryKeyThreshold),
        key,
        'COALESCE(sum(n) FILTER (WHERE n > 1), 0)',
        'COALESCE(sum(n), 0)',
      );
    }
    if (yes(f.isForeignKey) && f.fkTableName) {
      const fkTable = f.fkTableName.toLowerCase();
      const fkField = (f.fkFieldName ?? '').toLowerCase();
      if (present.get(fkTable)?.has(fkField)) {
        const alias = `fk_${field}`;
        const keys =
          fkTable === 'concept'
            ? `${s}.concept`
            : `(SELECT DISTINCT ${quoteIdent(fkField)} FROM ${s}.${quoteIdent(fkTable)})`;
        join(q, alias, `LEFT JOIN ${keys} ${alias} ON ${alias}.${quoteIdent(fkField)} = ${x}`);
        fieldCheck(
          'isForeignKey',
          'isForeignKeyThreshold',
          `count(*) FILTER (WHERE ${x} IS NOT NULL AND ${alias}.${quoteIdent(fkField)} IS NULL)`,
        );
        if (fkTable === 'concept') {
          if (f.fkDomain) {
            const domains = f.fkDomain
              .split(',')
              .map((d) => lit(d.trim()))
              .join(', ');
            fieldCheck(
              'fkDomain',
              'fkDomainThreshold',
              `count(*) FILTER (WHERE ${alias}.concept_id <> 0 AND ${alias}.domain_id NOT IN (${domains}))`,
            );
          }
          if (f.fkClass) {
            fieldCheck(
              'fkClass',
              'fkClassThreshold',
              `count(*) FILTER (WHERE ${alias}.concept_id <> 0 AND ${alias}.concept_class_id <> ${lit(f.fkClass)})`,
            );
          }
          if (yes(f.isStandardValidConcept)) {
            fieldCheck(
              'isStandardValidConcept',
              'isStandardValidConceptThreshold',
              `count(*) FILTER (WHERE ${alias}.concept_id <> 0 AND (COALESCE(${alias}.standard_concept, '') <> 'S' OR ${alias}.invalid_reason IS NOT NULL))`,
            );
          }
        }
      }
    }
    if (yes(f.measureValueCompleteness)) {
      fieldCheck(
        'measureValueCompleteness',
        'measureValueCompletenessThreshold',
        `count(*) FILTER (WHERE ${x} IS NULL)`,
      );
    }
    if (yes(f.standardConceptRecordCompleteness)) {
      fieldCheck(
        'standardConceptRecordCompleteness',
        'standardConceptRecordCompletenessThreshold',
        `count(*) FILTER (WHERE ${x} = 0)`,
      );
    }
    if (yes(f.sourceConceptRecordCompleteness)) {
      fieldCheck(
        'sourceConceptRecordCompleteness',
        'sourceConceptRecordCompletenessThreshold',
        `count(*) FILTER (WHERE ${x} = 0)`,
      );
    }
    if (yes(f.sourceValueCompleteness) && f.standardConceptFieldName) {
      const standard = `x.${quoteIdent(f.standardConceptFieldName.toLowerCase())}`;
      if (columns.has(f.standardConceptFieldName.toLowerCase())) {
        fieldCheck(
          'sourceValueCompleteness',
          'sourceValueCompletenessThreshold',
          `count(DISTINCT ${x}) FILTER (WHERE ${standard} = 0)`,
          `count(DISTINCT ${x})`,
        );
      }
    }
    for (const [name, op] of [
      ['plausibleValueLow', '<'],
      ['plausibleValueHigh', '>'],
    ] as const) {
      const bound = f[name] ? boundSql(f[name]!, isDate) : undefined;
      if (bound)
        fieldCheck(name, `${name}Threshold`, `count(*) FILTER (WHERE ${asDate} ${op} ${bound})`, notNull);
    }
    const needsPerson =
      yes(f.plausibleAfterBirth) ||
      yes(f.plausibleBeforeDeath) ||
      yes(f.plausibleDuringLife) ||
      (yes(f.plausibleTemporalAfter) && f.plausibleTemporalAfterTableName?.toLowerCase() === 'person');
    if (needsPerson && columns.has('person_id') && table !== 'person') {
      join(q, 'p', `LEFT JOIN ${s}.person p ON p.person_id = x.person_id`);
      join(
        q,
        'dth',
        `LEFT JOIN (SELECT person_id, min(death_date) AS death_date FROM ${s}.death GROUP BY person_id) dth ON dth.person_id = x.person_id`,
      );
      if (yes(f.plausibleAfterBirth)) {
        fieldCheck(
          'plausibleAfterBirth',
          'plausibleAfterBirthThreshold',
          `count(*) FILTER (WHERE ${asDate} < ${birth('p')})`,
          notNull,
        );
      }
      for (const name of ['plausibleBeforeDeath', 'plausibleDuringLife'] as const) {
        if (yes(f[name])) {
          fieldCheck(
            name,
            `${name}Threshold`,
            `count(*) FILTER (WHERE ${asDate} > dth.death_date + 60)`,
            `count(*) FILTER (WHERE dth.death_date IS NOT NULL AND ${x} IS NOT NULL)`,
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
      const other =
        afterTable === 'person' && table !== 'person' && columns.has('person_id')
          ? birth('p')
          : afterTable === table && columns.has(afterField)
            ? `CAST(x.${quoteIdent(afterField)} AS DATE)`
            : undefined;
      if (other)
        fieldCheck(
          'plausibleTemporalAfter',
          'plausibleTemporalAfterThreshold',
          `count(*) FILTER (WHERE ${asDate} < ${other})`,
          notNull,
        );
    }
    if (yes(f.plausibleStartBeforeEnd) && f.plausibleStartBeforeEndFieldName) {
      const end = f.plausibleStartBeforeEndFieldName.toLowerCase();
      if (columns.has(end)) {
        fieldCheck(
          'plausibleStartBeforeEnd',
          'plausibleStartBeforeEndThreshold',
          `count(*) FILTER (WHERE ${x} > x.${quoteIdent(end)})`,
          `count(*) FILTER (WHERE ${x} IS NOT NULL AND x.${quoteIdent(end)} IS NOT NULL)`,
        );
      }
    }
    if (yes(f.withinVisitDates) && columns.has('visit_occurrence_id') && table !== 'visit_occurrence') {
      join(q, 'vo', `LEFT JOIN ${s}.visit_occurrence vo ON vo.visit_occurrence_id = x.visit_occurrence_id`);
      fieldCheck(
        'withinVisitDates',
        'withinVisitDatesThreshold',
        `count(*) FILTER (WHERE ${asDate} < vo.visit_start_date - 7 OR ${asDate} > vo.visit_end_date + 7)`,
        `count(*) FILTER (WHERE vo.visit_occurrence_id IS NOT NULL)`,
      );
    }
  }

  // Concept-level checks: one grouped query per table and kind, split per concept after.
  for (const c of spec.concepts) {
    const table = c.cdmTableName!;
    const field = c.cdmFieldName!;
    if (!present.get(table)?.has(field) || !present.get(table)?.has('person_id')) continue;
    const conceptId = Number(c.conceptId);
    const x = `x.${quoteIdent(field)}`;
    if (c.plausibleGender) {
      const key = `gender:${table}:${field}`;
      if (!queries.has(key)) {
        queries.set(key, {
          key,
          table,
          from: `${s}.${quoteIdent(table)} x JOIN ${s}.person p ON p.person_id = x.person_id`,
        });
        joins.set(key, new Map());
      }
      const expected = c.plausibleGender === 'Male' ? 8507 : 8532;
      add(
        'plausibleGender',
        table,
        field,
        num(c.plausibleGenderThreshold),
        key,
        `count(*) FILTER (WHERE ${x} = ${conceptId} AND p.gender_concept_id <> ${expected})`,
        `count(*) FILTER (WHERE ${x} = ${conceptId})`,
        { conceptId },
      );
    }
    if (c.plausibleGenderUseDescendants) {
      const ancestors = c
        .conceptId!.split(',')
        .map((id) => Number(id.trim()))
        .filter(Number.isFinite);
      const key = `gender-descendants:${table}:${field}:${ancestors.join('-')}`;
      queries.set(key, {
        key,
        table,
        from: `${s}.${quoteIdent(table)} x JOIN ${s}.person p ON p.person_id = x.person_id JOIN ${s}.concept_ancestor ca ON ca.descendant_concept_id = ${x} AND ca.ancestor_concept_id IN (${ancestors.join(', ')})`,
      });
      joins.set(key, new Map());
      const expected = c.plausibleGenderUseDescendants === 'Male' ? 8507 : 8532;
      add(
        'plausibleGenderUseDescendants',
        table,
        field,
        num(c.plausibleGenderUseDescendantsThreshold),
        key,
        `count(DISTINCT x.${quoteIdent(`${table}_id`)}) FILTER (WHERE p.gender_concept_id <> ${expected})`,
        `count(DISTINCT x.${quoteIdent(`${table}_id`)})`,
        { conceptId: ancestors[0] ?? null },
      );
    }
    if (c.plausibleUnitConceptIds) {
      const units = c.plausibleUnitConceptIds
        .split(',')
        .map((u) => Number(u.trim()))
        .filter(Number.isFinite);
      const key = `units:${table}:${field}`;
      if (!queries.has(key)) {
        queries.set(key, { key, table, from: `${s}.${quoteIdent(table)} x` });
        joins.set(key, new Map());
      }
      add(
        'plausibleUnitConceptIds',
        table,
        field,
        num(c.plausibleUnitConceptIdsThreshold),
        key,
        `count(*) FILTER (WHERE ${x} = ${conceptId} AND x.value_as_number IS NOT NULL AND COALESCE(x.unit_concept_id, -1) NOT IN (${units.join(', ')}))`,
        `count(*) FILTER (WHERE ${x} = ${conceptId} AND x.value_as_number IS NOT NULL)`,
        { conceptId },
      );
    }
  }

  for (const [key, query] of queries) {
    const extra = [...(joins.get(key)?.values() ?? [])];
    if (extra.length) query.from = `${query.from} ${extra.join(' ')}`;
  }
  return { checks, queries: [...queries.values()] };
}

export type { CsvRow };
