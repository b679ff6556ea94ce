/** Shared set-up for the site benchmarks: a synthetic hospital's FHIR export and a loaded store. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { ingestFhir } from '../src/site/ingest/fhir-ingest.ts';
import { loadVocabulary } from '../src/site/ingest/omop-csv.ts';
import { openSiteStore } from '../src/site/store/open.ts';
import type { SiteStore } from '../src/site/store/store.ts';
import { synthesize } from '../src/synth/synthesize.ts';
import { KCD7_VOCABULARY_DIR } from '../src/synth/vocabulary.ts';

export const EUNOMIA = path.resolve(import.meta.dirname, '../../shared/data/eunomia-synthea27nj-5.4');

export function benchDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `itda-bench-${name}-`));
}

/** One hospital's FHIR export of `patients` people. */
export async function hospitalExport(dir: string, patients: number): Promise<string> {
  await synthesize({ patients, sites: 1, seed: 'bench', out: path.join(dir, 'fhir') });
  return path.join(dir, 'fhir', 'site-1');
}

export async function vocabularyStore(dir: string, url?: string): Promise<SiteStore> {
  const store = await openSiteStore({ dir, url });
  for (const vocabulary of [KCD7_VOCABULARY_DIR, EUNOMIA]) {
    await loadVocabulary(store, vocabulary, { quarantineDir: path.join(dir, 'quarantine') });
  }
  return store;
}

export async function ingest(store: SiteStore, exportDir: string, dir: string) {
  return ingestFhir(store, [exportDir], { quarantineDir: path.join(dir, 'quarantine') });
}

export function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/**
 * A bench's flags (node:util parseArgs). `--help` prints `usage` and exits 0; an unknown or
 * malformed flag is named with `usage` and exits 2 — never a stack trace.
 */
export function benchFlags<const O extends NonNullable<ParseArgsConfig['options']>>(
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<{ options: O }>>['values'] {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nusage: ${usage}\n`);
    process.exit(2);
  }
}
