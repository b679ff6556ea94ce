import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from './csv.ts';
import { cdmDdl, columnSqlType } from './ddl.ts';
import { DEFAULT_SPEC_DIR, GENERATED_FILE, generateSchemaSource, SPEC_FILES } from './generate-schema.ts';
import {
  cdmColumn,
  cdmColumnNames,
  cdmForeignKeys,
  cdmTable,
  cdmTables,
  VOCABULARY_TABLES,
} from './schema.ts';

const readSpec = (file: string) => fs.readFileSync(path.join(DEFAULT_SPEC_DIR, file), 'utf8');

/** Table → column names and types, read from the official DDL independently of the generator. */
function officialDdl(): Map<string, { name: string; type: string }[]> {
  const tables = new Map<string, { name: string; type: string }[]>();
  let current: { name: string; type: string }[] | undefined;
  for (const line of readSpec(SPEC_FILES.ddl).split('\n')) {
    const create = /^CREATE TABLE @cdmDatabaseSchema\.(\w+)/.exec(line);
    if (create) {
      current = [];
      tables.set(create[1]!, current);
    } else if (line.startsWith(')')) current = undefined;
    else if (current && line.trim() && !line.trim().startsWith('--')) {
      const [name, ...rest] = line.trim().split(/\s+/);
      current.push({ name: name!.replaceAll('"', ''), type: rest[0]!.toLowerCase() });
    }
  }
  return tables;
}

describe('OMOP CDM v5.4 schema', () => {
  it('the committed schema is exactly what the official specification generates', () => {
    expect(fs.readFileSync(GENERATED_FILE, 'utf8')).toBe(generateSchemaSource(DEFAULT_SPEC_DIR));
  });

  it('has the 39 tables and 432 columns of the official DDL, in its order', () => {
    const official = officialDdl();
    expect(cdmTables.map((t) => t.name)).toEqual([...official.keys()]);
    for (const table of cdmTables) {
      expect(cdmColumnNames(table.name), table.name).toEqual(official.get(table.name)!.map((c) => c.name));
    }
    expect(cdmTables).toHaveLength(39);
    expect(cdmTables.reduce((n, t) => n + t.columns.length, 0)).toBe(432);
  });

  it('maps every spec datatype to a type compatible with the official DDL', () => {
    const official = officialDdl();
    const compatible: Record<string, string[]> = {
      INTEGER: ['integer'],
      BIGINT: ['integer'],
      'DOUBLE PRECISION': ['numeric'],
      DATE: ['date'],
      TIMESTAMP: ['timestamp'],
      TEXT: ['text'],
    };
    for (const table of cdmTables) {
      for (const column of table.columns) {
        const ours = columnSqlType(column, table, 'postgres');
        const theirs = official.get(table.name)!.find((c) => c.name === column.name)!.type;
        const ok = ours.startsWith('VARCHAR')
          ? ours.toLowerCase() === theirs
          : compatible[ours]?.includes(theirs);
        expect(ok, `${table.name}.${column.name}: ${ours} vs ${theirs}`).toBe(true);
      }
    }
  });

  it('carries primary keys, required flags and foreign-key metadata from the spec', () => {
    const pks = [
      ...readSpec(SPEC_FILES.primaryKeys).matchAll(/\.(\w+)\s+ADD CONSTRAINT \w+ PRIMARY KEY \((\w+)\)/g),
    ];
    expect(pks).toHaveLength(28);
    for (const [, table, column] of pks) expect(cdmTable(table!)?.primaryKey, table).toBe(column);
    expect(cdmTable('concept_ancestor')?.primaryKey).toBeNull();

    expect(cdmTable('PERSON')).toBe(cdmTable('person'));
    expect(cdmTable('no_such_table')).toBeUndefined();
    expect(cdmColumn('person', 'gender_concept_id')).toMatchObject({
      cdmDatatype: 'integer',
      isRequired: true,
      fkTableName: 'concept',
      fkFieldName: 'concept_id',
      fkDomain: 'Gender',
    });
    expect(cdmColumn('drug_era', 'drug_concept_id')).toMatchObject({
      fkDomain: 'Drug',
      fkClass: 'Ingredient',
    });
    expect(cdmColumn('note_nlp', 'offset')).toMatchObject({ cdmDatatype: 'varchar(50)' });
    expect(cdmColumn('note', 'note_text')).toMatchObject({ cdmDatatype: 'varchar(MAX)', isRequired: true });

    const foreignKeys = cdmForeignKeys();
    expect(foreignKeys).toContainEqual({
      table: 'visit_occurrence',
      column: 'preceding_visit_occurrence_id',
      fkTableName: 'visit_occurrence',
      fkFieldName: 'visit_occurrence_id',
      fkDomain: null,
      fkClass: null,
    });
    const declared = parseCsv(readSpec(SPEC_FILES.fields)).filter((f) => f.isForeignKey === 'Yes');
    expect(foreignKeys).toHaveLength(declared.length);
    expect(VOCABULARY_TABLES).toContain('concept');
    expect(VOCABULARY_TABLES).not.toContain('person');
  });

  it('adapts types per dialect, quotes reserved words and declares no foreign keys', () => {
    const duck = cdmDdl('duckdb', 'cdm');
    const pg = cdmDdl('postgres', 'cdm');
    expect(duck[0]).toBe('CREATE SCHEMA IF NOT EXISTS "cdm"');
    expect(duck).toHaveLength(40);
    const duckText = duck.join('\n');
    const pgText = pg.join('\n');
    expect(duckText).toMatch(/"measurement_id" BIGINT NOT NULL/);
    expect(duckText).toMatch(/"value_as_number" DOUBLE,/);
    expect(duckText).toMatch(/"note_text" VARCHAR NOT NULL/);
    expect(pgText).toMatch(/"value_as_number" DOUBLE PRECISION,/);
    expect(pgText).toMatch(/"note_text" TEXT NOT NULL/);
    expect(pgText).toMatch(/"offset" VARCHAR\(50\)/);
    expect(pgText).toMatch(/"measurement_datetime" TIMESTAMP,/);
    expect(pgText).toMatch(/"fact_id_1" BIGINT NOT NULL/);
    expect(pgText).toMatch(/"concept_id" INTEGER NOT NULL/);
    expect(pgText).toMatch(/"measurement_concept_id" INTEGER NOT NULL/);
    expect(pgText).toMatch(
      /CREATE TABLE IF NOT EXISTS "cdm"\."person" \([\s\S]*PRIMARY KEY \("person_id"\)\n\)/,
    );
    expect(pgText).not.toMatch(/REFERENCES|FOREIGN KEY/);
    expect(cdmDdl('postgres', 'omop 5"4')[0]).toBe('CREATE SCHEMA IF NOT EXISTS "omop 5""4"');
  });

  it('refuses a specification whose DDL and field list disagree', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'itda-spec-'));
    try {
      for (const file of Object.values(SPEC_FILES)) {
        let text = readSpec(file);
        if (file === SPEC_FILES.ddl) text = text.replace('year_of_birth integer', 'year_born integer');
        fs.writeFileSync(path.join(dir, file), text);
      }
      expect(() => generateSchemaSource(dir)).toThrow(
        /person\.year_born is in the DDL but not in the field CSV/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
