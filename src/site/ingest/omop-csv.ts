/**
 * Loading OMOP data as it is: a vocabulary download (Athena's tab-separated files, or
 * the comma-separated layout of an OMOP CSV export) or a whole OMOP CDM v5.4 CSV set.
 * File and header names are matched case-insensitively; a table may come with any subset
 * of its columns as long as the required ones are there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { type CdmTableSpec, cdmTables } from '../../omop/index.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { SiteStore } from '../store/store.ts';
import { undoPartialFiles } from './partial-file.ts';
import { Quarantine } from './quarantine.ts';
import { loadTableFile, type TableLoadResult } from './table-file.ts';

export interface DirectoryLoadResult {
  tables: TableLoadResult[];
  /** Files that failed as a whole (e.g. a required column missing), with the reason. */
  failed: { file: string; reason: string }[];
  /** Files in the folder that are no CDM table. */
  ignoredFiles: string[];
  quarantined: number;
}

const FILE_PATTERN = /^(.+?)\.(csv|tsv|txt)(\.gz)?$/i;

/** CDM tables present in a folder, matched by file name whatever its case. */
export function findTableFiles(
  dir: string,
  tables: readonly CdmTableSpec[],
): { table: CdmTableSpec; file: string }[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    throw new ItdaError('not_found', `cannot read the folder ${dir}`);
  }
  return entries.flatMap((name) => {
    const m = FILE_PATTERN.exec(name);
    const table = m && tables.find((t) => t.name === m[1]!.toLowerCase());
    return table ? [{ table, file: path.join(dir, name) }] : [];
  });
}

export async function loadTableDirectory(
  store: SiteStore,
  dir: string,
  options: {
    tables: readonly CdmTableSpec[];
    quarantineDir: string;
    onProgress?: (bytes: number, total: number) => void;
  },
): Promise<DirectoryLoadResult> {
  const found = findTableFiles(dir, options.tables);
  const known = new Set(found.map((f) => path.basename(f.file)));
  const ignoredFiles = fs.readdirSync(dir).filter((n) => FILE_PATTERN.test(n) && !known.has(n));
  const total = found.reduce((sum, f) => sum + fs.statSync(f.file).size, 0);
  let done = 0;
  const quarantine = new Quarantine(options.quarantineDir);
  const result: DirectoryLoadResult = { tables: [], failed: [], ignoredFiles, quarantined: 0 };
  try {
    for (const { table, file } of found) {
      try {
        result.tables.push(
          await loadTableFile(store, table, file, {
            quarantine,
            onBytes: (bytes) => {
              done += bytes;
              options.onProgress?.(done, total);
            },
          }),
        );
      } catch (error) {
        if (!(error instanceof ItdaError)) throw error;
        result.failed.push({ file, reason: error.message });
      }
    }
  } finally {
    quarantine.close();
    result.quarantined = quarantine.count;
  }
  return result;
}

export const VOCABULARY_TABLE_SPECS = cdmTables.filter((t) => t.schema === 'VOCAB');

export function loadVocabulary(
  store: SiteStore,
  dir: string,
  options: { quarantineDir: string; onProgress?: (bytes: number, total: number) => void },
): Promise<DirectoryLoadResult> {
  const result = loadTableDirectory(store, dir, { ...options, tables: VOCABULARY_TABLE_SPECS });
  return result.then((r) => {
    if (r.tables.length === 0 && r.failed.length === 0) {
      throw new ItdaError(
        'not_found',
        `${dir} holds no vocabulary file (CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, …)`,
      );
    }
    return r;
  });
}

export async function loadOmopCsv(
  store: SiteStore,
  dir: string,
  options: { quarantineDir: string; onProgress?: (bytes: number, total: number) => void },
): Promise<DirectoryLoadResult> {
  // A FHIR file an interrupted run left partly written owns a range of ids; undo it before
  // rows loaded here could take ids in that range.
  await undoPartialFiles(store);
  const result = await loadTableDirectory(store, dir, { ...options, tables: cdmTables });
  if (result.tables.length === 0 && result.failed.length === 0) {
    throw new ItdaError('not_found', `${dir} holds no OMOP CDM table file (PERSON.csv, …)`);
  }
  return result;
}
