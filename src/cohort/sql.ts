/**
 * SQL fragments shared by the cohort compiler. The generated SQL keeps to the subset
 * DuckDB and PostgreSQL read alike (`date + integer`, `date - date` in days, `DATE '…'`
 * literals, window functions), so the two dialects differ only where noted.
 */
import { ItdaError } from '../protocol/errors.ts';
import type { ConceptRef, ConceptSetSelection, DateRange, NumericRange, TextFilter } from './primitives.ts';

export type CohortDialect = 'duckdb' | 'postgres';

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function stringLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `DATE 'YYYY-MM-DD'`; the value is checked so it can never carry SQL. */
export function dateLiteral(isoDate: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(isoDate))
    throw new ItdaError('validation_failed', `not a date (YYYY-MM-DD): ${isoDate}`);
  return `DATE '${isoDate}'`;
}

/** Circe's `DATEADD(day, n, x)`: both dialects add integer days to a DATE. */
export function addDays(expr: string, days: number): string {
  if (days === 0) return expr;
  return `(${expr} ${days < 0 ? '-' : '+'} ${Math.abs(days)})`;
}

const OPERATORS: Record<string, string> = { lt: '<', lte: '<=', eq: '=', '!eq': '<>', gt: '>', gte: '>=' };

function numberLiteral(value: number, decimal: boolean): string {
  // Circe reads integer ranges with intValue() and decimal ones with four places.
  return decimal ? String(Number(value.toFixed(4))) : String(Math.trunc(value));
}

function rangeClause(
  expr: string,
  op: string,
  value: string,
  extent: string | undefined,
  path: string,
): string {
  if (op.endsWith('bt')) {
    if (extent === undefined)
      throw new ItdaError('validation_failed', `${path}: a "${op}" range needs an Extent`);
    const between = `(${expr} >= ${value} AND ${expr} <= ${extent})`;
    return op.startsWith('!') ? `NOT ${between}` : between;
  }
  return `${expr} ${OPERATORS[op]} ${value}`;
}

/** Circe NumericRange (`lt`, `lte`, `eq`, `!eq`, `gt`, `gte`, `bt`, `!bt`) as a predicate. */
export function numericRangeClause(
  expr: string,
  range: NumericRange,
  decimal: boolean,
  path: string,
): string {
  return rangeClause(
    expr,
    range.Op,
    numberLiteral(range.Value, decimal),
    range.Extent == null ? undefined : numberLiteral(range.Extent, decimal),
    path,
  );
}

export function dateRangeClause(expr: string, range: DateRange, path: string): string {
  return rangeClause(
    expr,
    range.Op,
    dateLiteral(range.Value),
    range.Extent == null ? undefined : dateLiteral(range.Extent),
    path,
  );
}

/** Circe TextFilter: `startsWith`/`contains`/`endsWith` (and `!`-negated) as LIKE. */
export function textFilterClause(expr: string, filter: TextFilter): string {
  const negated = filter.Op.startsWith('!');
  const op = negated ? filter.Op.slice(1) : filter.Op;
  const escaped = filter.Text.replaceAll("'", "''");
  const prefix = op === 'endsWith' || op === 'contains' ? '%' : '';
  const suffix = op === 'startsWith' || op === 'contains' ? '%' : '';
  return `${expr} ${negated ? 'NOT LIKE' : 'LIKE'} '${prefix}${escaped}${suffix}'`;
}

export function conceptIdList(concepts: readonly ConceptRef[]): string {
  return concepts.map((c) => String(Math.trunc(c.CONCEPT_ID))).join(', ');
}

/** Circe `*CS` attributes: the column's concept is in (or, excluded, not in) a concept set. */
export function conceptSetSelectionClause(
  column: string,
  selection: ConceptSetSelection,
  codesetTable: string,
): string {
  if (selection.CodesetId == null) return `${column} IS ${selection.IsExclusion ? '' : 'NOT '}NULL`;
  return `${column} ${selection.IsExclusion ? 'NOT IN' : 'IN'} (SELECT concept_id FROM ${codesetTable} WHERE codeset_id = ${selection.CodesetId})`;
}

/** Indents every line of a nested query by two spaces so the generated SQL stays readable. */
export function indent(sql: string, spaces = 2): string {
  const pad = ' '.repeat(spaces);
  return sql
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}
