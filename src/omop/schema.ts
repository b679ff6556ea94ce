/**
 * Types of the OMOP CDM v5.4 schema description and lookups over it. The table list is
 * generated from the official specification (see generate-schema.ts); field meanings
 * follow https://ohdsi.github.io/CommonDataModel/cdm54.html.
 */
import { CDM54_TABLES } from './cdm54.generated.ts';

export interface CdmColumnSpec {
  /** Lower-case, unquoted (note_nlp's `offset` needs quoting in SQL: use `quoteIdent`). */
  name: string;
  /**
   * Datatype exactly as the field-level CSV states it (`integer`, `float`, `date`,
   * `datetime`, `varchar(50)`, `varchar(MAX)`; one field says `Integer`): what DQD's
   * cdmDatatype check reads. Compare case-insensitively.
   */
  cdmDatatype: string;
  /** SQL type as the official PostgreSQL DDL declares it, lower-cased (`numeric`, `timestamp`, `text`, …). */
  sqlType: string;
  isRequired: boolean;
  isPrimaryKey: boolean;
  /** Table a foreign key points to, lower-cased like the table names; null when not a foreign key. */
  fkTableName: string | null;
  fkFieldName: string | null;
  /** Domain a concept foreign key must belong to (DQD fkDomain), e.g. `Gender`. */
  fkDomain: string | null;
  /** Concept class a concept foreign key must belong to (DQD fkClass), e.g. `Ingredient`. */
  fkClass: string | null;
}

/** Where the specification places a table: clinical data, vocabulary, or analysis results. */
export type CdmSchemaKind = 'CDM' | 'VOCAB' | 'RESULTS';

export interface CdmTableSpec {
  name: string;
  schema: CdmSchemaKind;
  isRequired: boolean;
  /** The single-column primary key from the official primary-key script, or null. */
  primaryKey: string | null;
  /** In the official DDL's order. */
  columns: readonly CdmColumnSpec[];
}

export type CdmTableName = (typeof CDM54_TABLES)[number]['name'];

/** One foreign key of the specification, for checks (OHDSI applies FK constraints separately). */
export interface CdmForeignKey {
  table: string;
  column: string;
  fkTableName: string;
  fkFieldName: string;
  fkDomain: string | null;
  fkClass: string | null;
}

export const CDM_VERSION = '5.4';

/** Every CDM v5.4 table, in the official DDL's order. */
export const cdmTables: readonly CdmTableSpec[] = CDM54_TABLES;

const byName = new Map(cdmTables.map((t) => [t.name, t]));

/** The table's specification, or undefined when CDM v5.4 has no such table (case-insensitive). */
export function cdmTable(name: CdmTableName | (string & {})): CdmTableSpec | undefined {
  return byName.get(name.toLowerCase());
}

/** A column's specification, or undefined when the table has no such column (case-insensitive). */
export function cdmColumn(table: string, column: string): CdmColumnSpec | undefined {
  const wanted = column.toLowerCase();
  return cdmTable(table)?.columns.find((c) => c.name === wanted);
}

/** The table's column names in DDL order (empty for an unknown table). */
export function cdmColumnNames(table: string): string[] {
  return cdmTable(table)?.columns.map((c) => c.name) ?? [];
}

/** Every foreign key the specification declares, in table and column order. */
export function cdmForeignKeys(): CdmForeignKey[] {
  return cdmTables.flatMap((t) =>
    t.columns.flatMap((c) =>
      c.fkTableName && c.fkFieldName
        ? [
            {
              table: t.name,
              column: c.name,
              fkTableName: c.fkTableName,
              fkFieldName: c.fkFieldName,
              fkDomain: c.fkDomain,
              fkClass: c.fkClass,
            },
          ]
        : [],
    ),
  );
}

export const VOCABULARY_TABLES = cdmTables.filter((t) => t.schema === 'VOCAB').map((t) => t.name);
