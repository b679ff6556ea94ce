/**
 * The OHDSI Data Quality Dashboard check definitions (v2.8, CDM v5.4), read from its
 * published CSVs — check descriptions and table-, field- and concept-level thresholds —
 * rather than copied into code. ITDA_DQD_SPEC_DIR points at them; the default is the copy
 * kept beside this repository.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCsv } from '../../omop/csv.ts';
import { ItdaError } from '../../protocol/errors.ts';

export const DEFAULT_DQD_SPEC_DIR = fileURLToPath(
  new URL('../../../../shared/data/dqd-5.4/', import.meta.url),
);

export type CsvRow = Record<string, string | undefined>;

export interface CheckDescription {
  checkLevel: 'TABLE' | 'FIELD' | 'CONCEPT';
  checkName: string;
  description: string;
  context: 'Verification' | 'Validation';
  category: 'Conformance' | 'Completeness' | 'Plausibility';
  subcategory: string | null;
  severity: string | null;
}

export interface DqdSpec {
  checks: CheckDescription[];
  tables: CsvRow[];
  fields: CsvRow[];
  concepts: CsvRow[];
}

export function loadDqdSpec(dir = process.env.ITDA_DQD_SPEC_DIR ?? DEFAULT_DQD_SPEC_DIR): DqdSpec {
  const read = (name: string) => {
    const file = path.join(dir, name);
    try {
      return parseCsv(fs.readFileSync(file, 'utf8'));
    } catch {
      throw new ItdaError(
        'unavailable',
        `cannot read the data-quality check definitions ${file} (set ITDA_DQD_SPEC_DIR)`,
      );
    }
  };
  const lower = (rows: CsvRow[]) =>
    rows.map((r) => ({
      ...r,
      cdmTableName: r.cdmTableName?.toLowerCase(),
      cdmFieldName: r.cdmFieldName?.replaceAll('"', '').toLowerCase(),
    }));
  return {
    checks: read('OMOP_CDMv5.4_Check_Descriptions.csv').map((r) => ({
      checkLevel: r.checkLevel as CheckDescription['checkLevel'],
      checkName: r.checkName!,
      description: (r.checkDescription ?? '').replace(/\s+/g, ' ').trim(),
      context: r.kahnContext as CheckDescription['context'],
      category: r.kahnCategory as CheckDescription['category'],
      subcategory: r.kahnSubcategory || null,
      severity: r.severity || null,
    })),
    tables: lower(read('OMOP_CDMv5.4_Table_Level.csv')),
    fields: lower(read('OMOP_CDMv5.4_Field_Level.csv')),
    concepts: lower(read('OMOP_CDMv5.4_Concept_Level.csv')),
  };
}
