/**
 * OMOP CDM v5.4 DDL for the site store's two dialects, adapted from the official
 * PostgreSQL DDL: same tables, columns, NOT NULLs and primary keys. Foreign keys are not
 * declared (as in OHDSI's own DDL, they are applied separately, and an ETL loads tables
 * out of order); the quality checks test them instead (see `CdmColumnSpec.fkTable`).
 */
import { type CdmColumnSpec, type CdmTableSpec, cdmTables } from './schema.ts';

export type SqlDialect = 'duckdb' | 'postgres';

/** Event-table keys can outgrow 32 bits on a large site (wearable series), so keys are BIGINT. */
function columnType(column: CdmColumnSpec, table: CdmTableSpec, dialect: SqlDialect): string {
  const type = column.sqlType;
  const isKey =
    column.isPrimaryKey ||
    (column.fkTable !== null && column.fkTable !== 'concept' && column.name.endsWith('_id'));
  if (type === 'integer') return isKey && table.schema === 'CDM' ? 'BIGINT' : 'INTEGER';
  if (type === 'numeric') return dialect === 'duckdb' ? 'DOUBLE' : 'NUMERIC';
  if (type === 'timestamp') return 'TIMESTAMP';
  if (type === 'date') return 'DATE';
  if (type === 'text') return 'TEXT';
  if (type.startsWith('varchar')) return dialect === 'duckdb' ? 'VARCHAR' : type.toUpperCase();
  throw new Error(`no ${dialect} type for ${table.name}.${column.name} (${type})`);
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export function createTableSql(table: CdmTableSpec, dialect: SqlDialect, schema: string): string {
  const columns = table.columns.map(
    (c) => `  ${quoteIdent(c.name)} ${columnType(c, table, dialect)}${c.isRequired ? ' NOT NULL' : ''}`,
  );
  if (table.primaryKey) columns.push(`  PRIMARY KEY (${quoteIdent(table.primaryKey)})`);
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.${quoteIdent(table.name)} (\n${columns.join(',\n')}\n)`;
}

/** Statements that create the schema and every CDM v5.4 table in it (idempotent). */
export function cdmDdl(dialect: SqlDialect, schema: string): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`,
    ...cdmTables.map((t) => createTableSql(t, dialect, schema)),
  ];
}

/** Indexes that cohort counts, profiles and quality checks lean on (PostgreSQL; DuckDB uses zone maps). */
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
