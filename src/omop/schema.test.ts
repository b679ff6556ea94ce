import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cdmDdl } from './ddl.ts';
import { DEFAULT_SPEC_DIR, GENERATED_FILE, generateSchemaSource } from './generate-schema.ts';
import { cdmColumn, cdmTable, cdmTables } from './schema.ts';

describe('OMOP CDM v5.4 schema', () => {
  it('the committed schema is exactly what the official specification generates', () => {
    expect(fs.readFileSync(GENERATED_FILE, 'utf8')).toBe(generateSchemaSource(DEFAULT_SPEC_DIR));
  });

  it('has the 39 tables and 432 fields of the official DDL, in its order', () => {
    const ddl = fs.readFileSync(path.join(DEFAULT_SPEC_DIR, 'OMOPCDM_postgresql_5.4_ddl.sql'), 'utf8');
    const official = [...ddl.matchAll(/CREATE TABLE @cdmDatabaseSchema\.(\w+)/g)].map((m) => m[1]);
    expect(cdmTables.map((t) => t.name)).toEqual(official);
    expect(cdmTables).toHaveLength(39);
    expect(cdmTables.reduce((n, t) => n + t.columns.length, 0)).toBe(432);
  });

  it('carries keys, required flags and foreign-key domains', () => {
    expect(cdmTable('person')?.primaryKey).toBe('person_id');
    expect(cdmColumn('person', 'gender_concept_id')).toMatchObject({
      isRequired: true,
      fkTable: 'concept',
      fkDomain: 'Gender',
    });
    expect(cdmColumn('note_nlp', 'offset')).toMatchObject({ sqlType: 'varchar(50)' });
  });

  it('adapts types per dialect and quotes reserved words', () => {
    const duck = cdmDdl('duckdb', 'cdm').join('\n');
    const pg = cdmDdl('postgres', 'cdm').join('\n');
    expect(duck).toMatch(/"measurement_id" BIGINT NOT NULL/);
    expect(duck).toMatch(/"value_as_number" DOUBLE/);
    expect(pg).toMatch(/"value_as_number" NUMERIC/);
    expect(pg).toMatch(/"offset" VARCHAR\(50\)/);
    expect(pg).toMatch(/"concept_id" INTEGER NOT NULL/);
  });
});
