/**
 * Types of the OMOP CDM v5.4 schema description and lookups over it.
 * The table list itself is generated from the official specification (cdm54.generated.ts).
 */
import { CDM54_TABLES } from './cdm54.generated.ts';

export interface CdmColumnSpec {
  name: string;
  /** SQL type as the official PostgreSQL DDL declares it, lower-cased. */
  sqlType: string;
  /** Datatype as the field-level specification states it (what DQD's cdmDatatype checks). */
  cdmDatatype: string;
  isRequired: boolean;
  isPrimaryKey: boolean;
  fkTable: string | null;
  fkField: string | null;
  /** Domain a concept foreign key must belong to (DQD fkDomain). */
  fkDomain: string | null;
  /** Concept class a concept foreign key must belong to (DQD fkClass). */
  fkClass: string | null;
}

export interface CdmTableSpec {
  name: string;
  schema: 'CDM' | 'VOCAB' | string;
  isRequired: boolean;
  primaryKey: string | null;
  columns: readonly CdmColumnSpec[];
}

export const CDM_VERSION = '5.4';
export const cdmTables: readonly CdmTableSpec[] = CDM54_TABLES;

const byName = new Map(cdmTables.map((t) => [t.name, t]));

export function cdmTable(name: string): CdmTableSpec | undefined {
  return byName.get(name.toLowerCase());
}

export function cdmColumn(table: string, column: string): CdmColumnSpec | undefined {
  return cdmTable(table)?.columns.find((c) => c.name === column.toLowerCase());
}

export const VOCABULARY_TABLES = cdmTables.filter((t) => t.schema === 'VOCAB').map((t) => t.name);
