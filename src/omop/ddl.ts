/**
 * OMOP CDM v5.4 DDL for the site store's two dialects, adapted from the official
 * PostgreSQL DDL (OHDSI/CommonDataModel inst/ddl/5.4): the same tables, columns, NOT NULLs
 * and primary keys. Foreign keys are not declared: OHDSI applies them in a separate
 * script and an ETL loads tables out of order; checks read them from `cdmForeignKeys()`.
 *
 * Types follow the field-level `cdmDatatype`, with two deliberate differences from the
 * official DDL:
 * - `float` is DOUBLE PRECISION (PostgreSQL) / DOUBLE (DuckDB) rather than NUMERIC, so
 *   both dialects compute with the same binary floating point and return JS numbers;
 * - record identifiers and references to records (`person_id`, `visit_occurrence_id`,
 *   `measurement_event_id`, `fact_id_1`, …) are BIGINT, because a large site's event
 *   tables (wearable series, lab results) outgrow 32 bits. Concept ids stay INTEGER, as
 *   the vocabulary defines them.
 */
import { type CdmColumnSpec, type CdmTableSpec, cdmTables } from './schema.ts';

export type SqlDialect = 'duckdb' | 'postgres';

/** Integer columns that identify a record (not a concept), which are widened to BIGINT. */
export function isRecordIdColumn(column: CdmColumnSpec, table: CdmTableSpec): boolean {
  return (
    table.schema !== 'VOCAB' &&
    column.cdmDatatype.toLowerCase() === 'integer' &&
    /_id(_\d)?$/.test(column.name) &&
    !/concept_id(_\d)?$/.test(column.name) &&
    column.fkTableName !== 'concept'
  );
}

/** The column's SQL type in `dialect`. */
export function columnSqlType(column: CdmColumnSpec, table: CdmTableSpec, dialect: SqlDialect): string {
  const datatype = column.cdmDatatype.toLowerCase();
  if (datatype === 'integer') return isRecordIdColumn(column, table) ? 'BIGINT' : 'INTEGER';
  if (datatype === 'bigint') return 'BIGINT';
  if (datatype === 'float') return dialect === 'duckdb' ? 'DOUBLE' : 'DOUBLE PRECISION';
  if (datatype === 'date') return 'DATE';
  if (datatype === 'datetime') return 'TIMESTAMP';
  if (datatype === 'varchar(max)') return dialect === 'duckdb' ? 'VARCHAR' : 'TEXT';
  const varchar = /^varchar\((\d+)\)$/.exec(datatype);
  // DuckDB ignores a VARCHAR length anyway; PostgreSQL enforces it, as the official DDL does.
  if (varchar) return dialect === 'duckdb' ? 'VARCHAR' : `VARCHAR(${varchar[1]})`;
  throw new Error(`no ${dialect} type for ${table.name}.${column.name} (${column.cdmDatatype})`);
}

/** A double-quoted SQL identifier (both dialects), safe for reserved words like `offset`. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `CREATE TABLE IF NOT EXISTS` for one CDM table in `schema`. */
export function createTableSql(table: CdmTableSpec, dialect: SqlDialect, schema: string): string {
  const columns = table.columns.map(
    (c) => `  ${quoteIdent(c.name)} ${columnSqlType(c, table, dialect)}${c.isRequired ? ' NOT NULL' : ''}`,
  );
  if (table.primaryKey) columns.push(`  PRIMARY KEY (${quoteIdent(table.primaryKey)})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.${quoteIdent(table.name)} (\n${columns.join(',\n')}\n)`;
}

/**
 * Statements that create `schema` and every CDM v5.4 table in it, in DDL order. Each is
 * idempotent (IF NOT EXISTS), so running them on an existing CDM changes nothing.
 */
export function cdmDdl(dialect: SqlDialect, schema: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
    ...cdmTables.map((t) => createTableSql(t, dialect, schema)),
  ];
}

/**
 * Secondary indexes that cohort counts, profiles and quality checks lean on, for
 * PostgreSQL (a subset of the official indices script). DuckDB needs none: its zone maps
 * serve these scans, and ART indexes would only slow bulk loads.
 */
export function cdmIndexes(schema: string): string[] {
  const s = quoteIdent(schema);
  return [
    ['concept', 'concept_code'],
    ['concept', 'vocabulary_id'],
    ['concept_relationship', 'concept_id_1'],
    ['concept_ancestor', 'ancestor_concept_id'],
    ['concept_ancestor', 'descendant_concept_id'],
    ['condition_occurrence', 'person_id'],
    ['condition_occurrence', 'condition_concept_id'],
    ['drug_exposure', 'person_id'],
    ['drug_exposure', 'drug_concept_id'],
    ['measurement', 'person_id'],
    ['measurement', 'measurement_concept_id'],
    ['observation', 'person_id'],
    ['procedure_occurrence', 'person_id'],
    ['visit_occurrence', 'person_id'],
    ['observation_period', 'person_id'],
  ].map(
    ([table, column]) =>
      `CREATE INDEX IF NOT EXISTS idx_${table}_${column} ON ${s}.${quoteIdent(table!)} (${quoteIdent(column!)})`,
  );
}
