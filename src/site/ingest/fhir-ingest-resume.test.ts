/**
 * The ingest's batching, identity cache and per-file transactions must not show in the
 * result: tiny batches with a tiny id cache, a run split in two, and a run that fails
 * part-way through a file and is resumed all leave exactly the rows and ids of one plain run.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  duckdbMemoryLimit,
  openTestStore,
  SITE_DIALECTS,
  type TestStore,
} from '../../../test/support/site-store.ts';
import { listFhirFiles } from '../../fhir/index.ts';
import { synthesize } from '../../synth/synthesize.ts';
import { KCD7_VOCABULARY_DIR } from '../../synth/vocabulary.ts';
import type { SiteStore, SqlValue } from '../store/store.ts';
import { type FhirIngestSummary, ingestFhir } from './fhir-ingest.ts';
import { loadVocabulary } from './omop-csv.ts';

const EUNOMIA = path.resolve(import.meta.dirname, '../../../../shared/data/eunomia-synthea27nj-5.4');

const TABLES = [
  'person',
  'death',
  'location',
  'care_site',
  'provider',
  'visit_occurrence',
  'condition_occurrence',
  'procedure_occurrence',
  'drug_exposure',
  'measurement',
  'observation',
  'note',
  'image_occurrence',
  'observation_period',
];

/** Every row of the tables the ingest writes, and the identity map, in key order. */
async function snapshot(store: SiteStore): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) out[table] = await store.all(`SELECT * FROM cdm.${table} ORDER BY 1`);
  out.id_map = await store.all('SELECT namespace, key, omop_id FROM itda.id_map ORDER BY namespace, key');
  return out;
}

const setMemoryLimit = (statements: { mock: { calls: unknown[][] } }) =>
  statements.mock.calls.map(([sql]) => String(sql)).filter((sql) => /^(SET|RESET) memory_limit/.test(sql));

/** The store, with `appendRows` into `table` failing on its `nth` call (a full disk, say). */
function failingAppend(store: SiteStore, table: string, nth: number): SiteStore {
  let calls = 0;
  const wrap = (target: SiteStore): SiteStore =>
    new Proxy(target, {
      get(t, property) {
        if (property === 'appendRows') {
          return (schema: string, name: string, columns: readonly string[], rows: readonly SqlValue[][]) => {
            if (name === table && ++calls === nth) throw new Error(`no space left while writing ${name}`);
            return t.appendRows(schema, name, columns, rows);
          };
        }
        if (property === 'transaction') {
          return <T>(fn: (tx: SiteStore) => Promise<T>) => t.transaction((tx) => fn(wrap(tx)));
        }
        const value = Reflect.get(t, property, t);
        return typeof value === 'function' ? value.bind(t) : value;
      },
    });
  return wrap(store);
}

const DIE = path.resolve(import.meta.dirname, '../../../test/support/ingest-then-die.ts');

const exportRoot = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'itda-ingest-resume-'));

describe.each(SITE_DIALECTS)('FHIR ingest batches and resumes on %s', (dialect) => {
  const stores: TestStore[] = [];
  let files: string[] = [];
  let reference: Record<string, unknown[]> = {};
  let referenceRun: FhirIngestSummary | undefined;
  let referenceFiles: { path: string; resources: number }[] = [];
  // With the vocabulary, codes reach measurement, observation and the other domain tables.
  const open = async () => {
    const t = await openTestStore(dialect);
    if (!t) return undefined;
    stores.push(t);
    for (const vocabulary of [KCD7_VOCABULARY_DIR, EUNOMIA]) {
      await loadVocabulary(t.store, vocabulary, { quarantineDir: path.join(t.dir, 'vocabulary-quarantine') });
    }
    return t;
  };

  beforeAll(async () => {
    const out = path.join(exportRoot, dialect);
    await synthesize({ patients: 12, sites: 1, seed: 'ingest-resume', out });
    files = await listFhirFiles([path.join(out, 'site-1')]);
    const t = await open();
    if (!t) return;
    referenceRun = await ingestFhir(t.store, files, { quarantineDir: path.join(t.dir, 'quarantine') });
    reference = await snapshot(t.store);
    referenceFiles = await t.store.all('SELECT path, resources FROM itda.ingested_file');
  });
  afterAll(async () => {
    for (const t of stores) await t.dispose();
    fs.rmSync(path.join(exportRoot, dialect), { recursive: true, force: true });
  });

  it('writes the same rows and ids with tiny batches and an id cache that keeps evicting', async (ctx) => {
    const t = await open();
    if (!t) return ctx.skip();
    expect(reference.measurement!.length).toBeGreaterThan(50);
    expect(reference.visit_occurrence!.length).toBeGreaterThan(12);
    const ownLimit = dialect === 'duckdb' ? await duckdbMemoryLimit(t.store) : undefined;
    const statements = vi.spyOn(t.store, 'run');
    const summary = await ingestFhir(t.store, files, {
      quarantineDir: path.join(t.dir, 'quarantine'),
      batchSize: 7,
      commitEvery: 15,
      idCacheSize: 5,
    });
    expect(await snapshot(t.store)).toEqual(reference);
    // Each committed part is written into the DuckDB file at once: parts outnumber files here.
    const checkpoints = statements.mock.calls.filter(([sql]) => sql === 'CHECKPOINT').length;
    if (dialect === 'duckdb') expect(checkpoints).toBeGreaterThan(summary.files);
    else expect(checkpoints).toBe(0);
    // DuckDB is held to the ingest's memory limit while it runs, and has its own back after.
    if (dialect === 'duckdb') {
      expect(setMemoryLimit(statements)).toEqual(["SET memory_limit = '96MiB'", 'RESET memory_limit']);
      expect(await duckdbMemoryLimit(t.store)).toBe(ownLimit);
    } else expect(setMemoryLimit(statements)).toEqual([]);
  });

  it('gives the same ids when the files come in two runs', async (ctx) => {
    const t = await open();
    if (!t) return ctx.skip();
    const options = { quarantineDir: path.join(t.dir, 'quarantine'), batchSize: 50 };
    const first = await ingestFhir(t.store, files.slice(0, 4), options);
    // A store limited below the ingest's limit keeps its own.
    if (dialect === 'duckdb') await t.store.run("SET memory_limit = '64MiB'");
    const statements = vi.spyOn(t.store, 'run');
    const second = await ingestFhir(t.store, files, options);
    expect(setMemoryLimit(statements)).toEqual([]);
    if (dialect === 'duckdb') expect(await duckdbMemoryLimit(t.store)).toBe('64.0 MiB');
    expect(first.resources).toBeGreaterThan(0);
    expect(second.resources).toBe(referenceRun!.resources - first.resources);
    expect(await snapshot(t.store)).toEqual(reference);
  });

  it('leaves nothing of a file that fails part-way, and a second run resumes to the same result', async (ctx) => {
    const t = await open();
    if (!t) return ctx.skip();
    const options = { quarantineDir: path.join(t.dir, 'quarantine'), batchSize: 20, commitEvery: 20 };
    const observationFile = files.find((f) => path.basename(f) === 'Observation.ndjson')!;
    // The second batch of Observation.ndjson writing measurements fails after the first was
    // appended and committed as the file's first part.
    await expect(ingestFhir(failingAppend(t.store, 'measurement', 2), files, options)).rejects.toThrow(
      /no space left/,
    );
    expect(await t.store.all('SELECT path FROM itda.partial_file')).toEqual([]);
    const [measurements] = await t.store.all<{ n: number }>('SELECT count(*) AS n FROM cdm.measurement');
    expect(measurements!.n).toBe(0);
    const [observationIds] = await t.store.all<{ n: number }>(
      "SELECT count(*) AS n FROM itda.id_map WHERE namespace = 'Observation'",
    );
    expect(observationIds!.n).toBe(0);
    const done = await t.store.all<{ path: string; resources: number }>(
      'SELECT path, resources FROM itda.ingested_file ORDER BY path',
    );
    expect(done.map((d) => d.path)).toEqual(files.slice(0, files.indexOf(observationFile)));
    const resumed = await ingestFhir(t.store, files, options);
    const doneResources = done.reduce((sum, d) => sum + d.resources, 0);
    expect(resumed.resources).toBe(referenceRun!.resources - doneResources);
    expect(await snapshot(t.store)).toEqual(reference);
  });

  it('undoes the committed parts of a file whose run was killed, then ingests it again', async (ctx) => {
    const t = await open();
    if (!t) return ctx.skip();
    await t.store.close();
    const encounterFile = files.find((f) => path.basename(f) === 'Encounter.ndjson')!;
    const before = files.slice(0, files.indexOf(encounterFile));
    // Killed halfway through Encounter.ndjson, after several of its parts committed.
    const resourcesOf = (file: string) => referenceFiles.find((f) => f.path === file)!.resources;
    expect(resourcesOf(encounterFile)).toBeGreaterThan(100);
    const killAfter =
      before.reduce((sum, f) => sum + resourcesOf(f), 0) + Math.floor(resourcesOf(encounterFile) / 2);
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', DIE, t.dir, t.url ?? '-', String(killAfter), '15', ...files],
      { encoding: 'utf8' },
    );
    expect(child.signal, child.stderr).toBe('SIGKILL');
    const store = await t.reopen();
    const [partial] = await store.all<{ path: string; first_id: number; last_id: number }>(
      'SELECT path, first_id, last_id FROM itda.partial_file',
    );
    expect(partial?.path).toBe(encounterFile);
    expect(partial!.last_id).toBeGreaterThan(partial!.first_id);
    const [written] = await store.all<{ n: number }>('SELECT count(*) AS n FROM cdm.visit_occurrence');
    expect(written!.n).toBeGreaterThan(0);
    // Visits the conditions named got their ids in an earlier file: those rows are listed one by one.
    const [older] = await store.all<{ n: number }>('SELECT count(*) AS n FROM itda.partial_file_row');
    expect(older!.n).toBeGreaterThan(0);
    const done = await store.all<{ path: string }>('SELECT path FROM itda.ingested_file ORDER BY path');
    expect(done.map((d) => d.path)).toEqual(before);
    // A run over the files already done writes nothing but first undoes the partial one.
    const options = { quarantineDir: path.join(t.dir, 'quarantine') };
    const undoing = await ingestFhir(store, before, options);
    expect(undoing.undoneFiles).toEqual([encounterFile]);
    expect(undoing.resources).toBe(0);
    const [visits] = await store.all<{ n: number }>('SELECT count(*) AS n FROM cdm.visit_occurrence');
    expect(visits!.n).toBe(0);
    expect(await store.all('SELECT path FROM itda.partial_file')).toEqual([]);
    expect(await store.all('SELECT * FROM itda.partial_file_row')).toEqual([]);
    const resumed = await ingestFhir(store, files, options);
    expect(resumed.undoneFiles).toEqual([]);
    expect(await snapshot(store)).toEqual(reference);
  });
});
