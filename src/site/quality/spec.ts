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

const SPEC_FILES = [
  'OMOP_CDMv5.4_Check_Descriptions.csv',
  'OMOP_CDMv5.4_Table_Level.csv',
  'OMOP_CDMv5.4_Field_Level.csv',
  'OMOP_CDMv5.4_Concept_Level.csv',
] as const;

/** Parsed definitions by folder, kept while the files' size and modification time stay the same. */
const parsed = new Map<string, { stamp: string; spec: DqdSpec }>();

/**
 * The DQD definitions in `dir`, parsed once per process (a run re-reads only the files'
 * size and modification time) — parsing them costs about as much as scanning a small store.
 */
export function loadDqdSpec(dir = process.env.ITDA_DQD_SPEC_DIR ?? DEFAULT_DQD_SPEC_DIR): DqdSpec {
  let stamp: string;
  try {
    stamp = SPEC_FILES.map((name) => {
      const stat = fs.statSync(path.join(dir, name));
      return `${stat.size}:${stat.mtimeMs}`;
    }).join('|');
  } catch {
    stamp = '';
  }
  const known = parsed.get(dir);
  if (stamp && known?.stamp === stamp) return known.spec;
  const spec = parseDqdSpec(dir);
  if (stamp) parsed.set(dir, { stamp, spec });
  return spec;
}

function parseDqdSpec(dir: string): DqdSpec {
  const read = (name: (typeof SPEC_FILES)[number]) => {
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
