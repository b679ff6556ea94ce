/**
 * `itda ingest`: FHIR R4 files into the site's OMOP store, using the pure mapping of
 * src/fhir. A file is all-or-nothing (one that fails part-way leaves none of its rows,
 * though a large one commits in parts); a file already ingested (same bytes) is skipped, so
 * an interrupted run resumes where it stopped and a second run adds nothing. Memory holds a
 * few batches of resources, one part's uncommitted rows, the
 * codes the vocabulary has answered, a bounded cache of referenced ids and a fixed-size
 * filter of the keys this run wrote, not the whole input.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { DERIVED_NAMESPACES } from '../../fhir/ids.ts';
import { type ConceptInfo, listFhirFiles, MappingReport } from '../../fhir/index.ts';
import { quoteIdent } from '../../omop/ddl.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { SiteStore, SqlValue } from '../store/store.ts';
import { rebuildEras } from './eras.ts';
import { type ConceptAnswer, columnValue, type FromWorker, type MappedTable } from './map-worker-format.ts';
import { MappingThread } from './mapping-thread.ts';
import { finishParts, recordPart, undoPartialFiles, WRITTEN_TABLE_KEYS } from './partial-file.ts';
import { Quarantine } from './quarantine.ts';

/** Resources mapped and written together: large enough that each statement carries many rows. */
const BATCH = 5_000;
/**
 * Resources a file writes per transaction, about: few enough that a large file's uncommitted
 * rows stay inside the ingest's memory limit (DuckDB held about 55 MB of them at 125,000, 80 MB
 * at 250,000), many enough that the commits (each a DuckDB checkpoint) cost little.
 */
const COMMIT_EVERY = 125_000;
/**
 * DuckDB's memory limit while the ingest runs, unless the store's is lower already. DuckDB
 * keeps every block it writes cached until it reaches its limit (by default 80 % of RAM), so
 * the cache grew with the input, though the ingest reads few of those blocks again. This holds
 * one part's uncommitted rows (about 55 MB at 125,000 resources) and the id lookups; DuckDB
 * evicts written blocks first and would spill the rest to a temporary file.
 */
const INGEST_MEMORY_LIMIT_MIB = 96;
/** Referenced ids per cache generation (two are kept): most of 10,000 patients' encounters, in a few MB; a miss is looked up in the store. */
const ID_CACHE_GENERATION = 100_000;

export interface FhirIngestSummary {
  files: number;
  skippedFiles: number;
  /** Files an interrupted run left partly written, whose rows this run removed first (then ingested again). */
  undoneFiles: string[];
  resources: number;
  rowsWritten: number;
  quarantined: number;
  report: ReturnType<MappingReport['summary']>;
}

/**
 * The store's side of the vocabulary: answers the codes the mapping thread asks for, and
 * remembers which concepts' "Maps to" targets it has sent (the thread keeps them for the run).
 */
class VocabularySource {
  private readonly sentTargets = new Set<number>();

  async answer(tx: SiteStore, wanted: readonly [string, string][]): Promise<ConceptAnswer> {
    const s = quoteIdent(tx.cdmSchema);
    const answer: ConceptAnswer = { asked: [...wanted], found: [], targets: [] };
    const byVocabulary = new Map<string, string[]>();
    for (const [vocabulary, code] of wanted) {
      const codes = byVocabulary.get(vocabulary);
      if (codes) codes.push(code);
      else byVocabulary.set(vocabulary, [code]);
    }
    for (const [vocabulary, codes] of byVocabulary) {
      for (let i = 0; i < codes.length; i += 1000) {
        const chunk = codes.slice(i, i + 1000);
        const found = await tx.all<ConceptInfo>(
          `SELECT concept_id, concept_name, domain_id, vocabulary_id, concept_class_id, standard_concept, concept_code, invalid_reason
           FROM ${s}.concept WHERE vocabulary_id = $1 AND concept_code IN (${chunk.map((_, j) => `$${j + 2}`).join(', ')})`,
          [vocabulary, ...chunk],
        );
        answer.found.push(...found);
        const ids = found.map((c) => c.concept_id).filter((id) => !this.sentTargets.has(id));
        for (const id of ids) this.sentTargets.add(id);
        if (ids.length) {
          answer.targets.push(
            ...(await tx.all<ConceptInfo & { source_id: number }>(
              `SELECT r.concept_id_1 AS source_id, c.concept_id, c.concept_name, c.domain_id, c.vocabulary_id, c.concept_class_id,
                  c.standard_concept, c.concept_code, c.invalid_reason
             FROM ${s}.concept_relationship r JOIN ${s}.concept c ON c.concept_id = r.concept_id_2
            WHERE r.relationship_id = 'Maps to' AND r.invalid_reason IS NULL AND r.concept_id_1 IN (${ids.join(', ')})`,
            )),
          );
        }
      }
    }
    return answer;
  }
}

/** Namespaces other resources refer to; a resource's own key is asked for once and not cached. */
const REFERENCED_NAMESPACES: ReadonlySet<string> = new Set([
  'Patient',
  'Encounter',
  'Practitioner',
  'Organization',
  'Location',
  DERIVED_NAMESPACES.address,
]);

/** namespace → key → id, counted; two levels so no composite key string is built per call. */
class KeyMap {
  private readonly byNamespace = new Map<string, Map<string, number>>();
  size = 0;

  get(namespace: string, key: string): number | undefined {
    return this.byNamespace.get(namespace)?.get(key);
  }

  set(namespace: string, key: string, id: number): void {
    let keys = this.byNamespace.get(namespace);
    if (keys === undefined) {
      keys = new Map();
      this.byNamespace.set(namespace, keys);
    }
    if (!keys.has(key)) this.size++;
    keys.set(key, id);
  }
}

/**
 * Ids of referenced resources seen lately (patients, encounters, practitioners…), so a
 * reference does not go to the store. Two generations of bounded size: memory stays flat
 * however large the input, and a key used again is kept (roughly least-recently-used).
 */
class IdCache {
  private current = new KeyMap();
  private previous = new KeyMap();

  constructor(private readonly generationSize: number) {}

  get(namespace: string, key: string): number | undefined {
    const id = this.current.get(namespace, key);
    if (id !== undefined) return id;
    const old = this.previous.get(namespace, key);
    if (old !== undefined) this.set(namespace, key, old);
    return old;
  }

  set(namespace: string, key: string, id: number): void {
    this.current.set(namespace, key, id);
    if (this.current.size >= this.generationSize) {
      this.previous = this.current;
      this.current = new KeyMap();
    }
  }

  clear(): void {
    this.current = new KeyMap();
    this.previous = new KeyMap();
  }
}

/**
 * The keys this run has written to the identity map, as a Bloom filter of fixed size (8 MiB,
 * four probes: about one false "maybe" in 100,000 keys at a million keys): a key it has never
 * seen was not allocated by this run, so it needs no store lookup. Memory does not grow with
 * the input; a fuller filter only answers "maybe" more often.
 */
class KeyFilter {
  private static readonly BITS_LOG2 = 26;
  private readonly words = new Uint32Array(1 << (KeyFilter.BITS_LOG2 - 5));

  /**
   * Two 32-bit FNV-1a-style hashes of namespace NUL key, for double hashing, into
   * `hashes[2 * at]` and `hashes[2 * at + 1]`: computed once for both `mayHave` and `add`.
   */
  static hash(namespace: string, key: string, hashes: Int32Array, at: number): void {
    let h1 = 0x811c9dc5;
    let h2 = 0x5bd1e995;
    for (let i = 0; i < namespace.length; i++) {
      const c = namespace.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    // The NUL between them.
    h1 = Math.imul(h1, 0x01000193);
    h2 = Math.imul(h2, 0x5bd1e995) ^ (h2 >>> 15);
    for (let i = 0; i < key.length; i++) {
      const c = key.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
    hashes[2 * at] = h1;
    hashes[2 * at + 1] = h2 | 1;
  }

  add(hashes: Int32Array, at: number): void {
    const h1 = hashes[2 * at]!;
    const h2 = hashes[2 * at + 1]!;
    const mask = (1 << KeyFilter.BITS_LOG2) - 1;
    for (let i = 0; i < 4; i++) {
      const bit = (h1 + Math.imul(i, h2)) & mask;
      this.words[bit >>> 5]! |= 1 << (bit & 31);
    }
  }

  mayHave(hashes: Int32Array, at: number): boolean {
    const h1 = hashes[2 * at]!;
    const h2 = hashes[2 * at + 1]!;
    const mask = (1 << KeyFilter.BITS_LOG2) - 1;
    for (let i = 0; i < 4; i++) {
      const bit = (h1 + Math.imul(i, h2)) & mask;
      if ((this.words[bit >>> 5]! & (1 << (bit & 31))) === 0) return false;
    }
    return true;
  }
}

/** Keys of one batch that may already be in the store, looked up in one join. */
const KEY_STAGE = 'stage_fhir_id_keys';

/**
 * Ids for one mapped batch: the mapping thread put a placeholder (-1, -2, … in order of
 * first use) wherever an id goes, with the keys they stand for. A referenced key the cache
 * knows gets its id at once; any other is found in the store or allocated (written back in
 * the same transaction), and `final` swaps placeholders for ids. The mapper only ever puts
 * ids into record-id columns (`*_id`, not `*_concept_id`), where no real value is negative.
 * Ids from `firstFresh` on are new in this batch, so no CDM row can have them yet.
 */
class BatchIds {
  private ids: number[] = [];
  firstFresh = Number.POSITIVE_INFINITY;

  constructor(
    private readonly cache: IdCache,
    private readonly filter: KeyFilter,
    private readonly namespaces: readonly string[],
    private readonly keys: readonly string[],
  ) {}

  async resolve(tx: SiteStore, next: { value: number }, stage: KeyStage): Promise<void> {
    const { namespaces, keys, cache, filter } = this;
    const ids = new Array<number>(keys.length).fill(-1);
    const misses: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const id = REFERENCED_NAMESPACES.has(namespaces[i]!) ? cache.get(namespaces[i]!, keys[i]!) : undefined;
      if (id === undefined) misses.push(i);
      else ids[i] = id;
    }
    // A miss may be in the store if the store had ids before this run, or if this run wrote it.
    const hashes = new Int32Array(misses.length * 2);
    for (let m = 0; m < misses.length; m++)
      KeyFilter.hash(namespaces[misses[m]!]!, keys[misses[m]!]!, hashes, m);
    const maybeStored: [string, string][] = [];
    const byKey = new KeyMap();
    for (let m = 0; m < misses.length; m++) {
      const i = misses[m]!;
      if (stage.storeHadIds || filter.mayHave(hashes, m)) {
        maybeStored.push([namespaces[i]!, keys[i]!]);
        byKey.set(namespaces[i]!, keys[i]!, i);
      }
    }
    if (maybeStored.length > 0) {
      for (const f of await stage.lookup(tx, maybeStored)) {
        ids[byKey.get(f.namespace, f.key)!] = f.omop_id;
        if (REFERENCED_NAMESPACES.has(f.namespace)) cache.set(f.namespace, f.key, f.omop_id);
      }
    }
    this.firstFresh = next.value;
    const fresh: SqlValue[][] = [];
    for (let m = 0; m < misses.length; m++) {
      const i = misses[m]!;
      if (ids[i]! >= 0) continue;
      const id = next.value++;
      ids[i] = id;
      const namespace = namespaces[i]!;
      const key = keys[i]!;
      if (REFERENCED_NAMESPACES.has(namespace)) cache.set(namespace, key, id);
      filter.add(hashes, m);
      fresh.push([namespace, key, id]);
    }
    await tx.appendRows('itda', 'id_map', ['namespace', 'key', 'omop_id'], fresh);
    this.ids = ids;
  }

  /** The id a placeholder stands for (after `resolve`). */
  final(placeholder: number): number {
    const id = this.ids[-placeholder - 1];
    if (id === undefined) throw new ItdaError('internal', `id placeholder ${placeholder} was not resolved`);
    return id;
  }
}

/**
 * The store side of id resolution: keys the cache missed go into a stage table (created
 * once per transaction) and come back joined with `itda.id_map`.
 */
class KeyStage {
  private created = false;

  /** Whether `itda.id_map` held ids before this run. */
  constructor(readonly storeHadIds: boolean) {}

  async lookup(
    tx: SiteStore,
    keys: readonly [string, string][],
  ): Promise<{ namespace: string; key: string; omop_id: number }[]> {
    if (!this.created) {
      await tx.run(`DROP TABLE IF EXISTS itda.${KEY_STAGE}`);
      await tx.run(`CREATE TABLE itda.${KEY_STAGE} (namespace VARCHAR NOT NULL, key VARCHAR NOT NULL)`);
      this.created = true;
    } else await tx.run(`DELETE FROM itda.${KEY_STAGE}`);
    await tx.appendRows('itda', KEY_STAGE, ['namespace', 'key'], keys);
    return tx.all(
      `SELECT m.namespace, m.key, m.omop_id FROM itda.${KEY_STAGE} s
         JOIN itda.id_map m ON m.namespace = s.namespace AND m.key = s.key`,
    );
  }

  /** Ends the transaction without leaving the stage behind. */
  async drop(tx: SiteStore): Promise<void> {
    if (this.created) await tx.run(`DROP TABLE itda.${KEY_STAGE}`);
    this.created = false;
  }
}

/** Content hash of a file, streamed so a large export is never held in memory. */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Columns that hold a record's id (`person_id`, `fact_id_1`), not a concept's (OMOP CDM v5.4 naming). */
function isRecordIdColumn(column: string): boolean {
  return /_id(_\d)?$/.test(column) && !/concept_id(_\d)?$/.test(column);
}

/**
 * Appends rows whose primary key is not there yet (identical re-ingests add nothing), with
 * the batch's id placeholders replaced. A key allocated in this batch (`>= firstFresh`)
 * cannot be in the table, so only older keys are checked; a key twice in the batch is
 * written once (the first). The first column of every table Itda writes is its key
 * (person_id for death). Rows written under ids below `olderRows.before` are listed in it.
 */
async function writeRows(
  tx: SiteStore,
  mapped: MappedTable,
  ids: BatchIds,
  olderRows: { before: number; rows: [table: string, id: number][] },
): Promise<number> {
  const { table, columns } = mapped;
  if (mapped.rows === 0) return 0;
  const idColumns = columns.map(isRecordIdColumn);
  const key = columns[0]!;
  const seen = new Set<number>();
  const values: SqlValue[][] = [];
  const older: number[] = [];
  for (let r = 0; r < mapped.rows; r++) {
    const value = new Array<SqlValue>(columns.length);
    for (let c = 0; c < columns.length; c++) {
      const v = columnValue(mapped.values[c]!, r);
      value[c] = idColumns[c] && typeof v === 'number' && v < 0 ? ids.final(v) : v;
    }
    const id = value[0];
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      throw new ItdaError('internal', `${table}.${key} is not an integer id: ${String(id)}`);
    }
    if (seen.has(id)) continue;
    seen.add(id);
    values.push(value);
    if (id < ids.firstFresh) older.push(id);
  }
  let kept = values;
  if (older.length > 0) {
    const existing = new Set<number>();
    const target = `${quoteIdent(tx.cdmSchema)}.${quoteIdent(table)}`;
    // Ids are integers checked above, so they can be written into the statement.
    for (let i = 0; i < older.length; i += 10_000) {
      const found = await tx.all<{ id: number }>(
        `SELECT ${quoteIdent(key)} AS id FROM ${target} WHERE ${quoteIdent(key)} IN (${older.slice(i, i + 10_000).join(', ')})`,
      );
      for (const f of found) existing.add(f.id);
    }
    if (existing.size > 0) kept = values.filter((v) => !existing.has(v[0] as number));
    for (const id of older) if (id < olderRows.before && !existing.has(id)) olderRows.rows.push([table, id]);
  }
  return tx.appendRows(tx.cdmSchema, table, columns, kept);
}

/**
 * The first id this run may allocate: above every id in the identity map and every key
 * already in a table the mapper writes (rows loaded from an OMOP CSV set, say), so a new
 * id never meets an existing row.
 */
async function firstFreeId(store: SiteStore): Promise<{ first: number; storeHadIds: boolean }> {
  const s = quoteIdent(store.cdmSchema);
  const [mapped] = await store.all<{ n: number | null }>('SELECT max(omop_id) AS n FROM itda.id_map');
  const [tables] = await store.all<{ n: number | null }>(
    `SELECT max(n) AS n FROM (${WRITTEN_TABLE_KEYS.map(([t, k]) => `SELECT max(${quoteIdent(k)}) AS n FROM ${s}.${quoteIdent(t)}`).join(' UNION ALL ')}) m`,
  );
  return {
    first: Math.max(mapped?.n ?? 0, tables?.n ?? 0) + 1,
    storeHadIds: mapped?.n !== null && mapped?.n !== undefined,
  };
}

/** observation_period, rebuilt from every event date: one period per person from first to last event. */
export async function rebuildObservationPeriods(store: SiteStore): Promise<void> {
  const s = quoteIdent(store.cdmSchema);
  const events = [
    ['visit_occurrence', 'visit_start_date', 'visit_end_date'],
    ['condition_occurrence', 'condition_start_date', 'condition_start_date'],
    ['drug_exposure', 'drug_exposure_start_date', 'drug_exposure_end_date'],
    ['procedure_occurrence', 'procedure_date', 'procedure_date'],
    ['measurement', 'measurement_date', 'measurement_date'],
    ['observation', 'observation_date', 'observation_date'],
  ]
    .map(([t, a, b]) => `SELECT person_id, ${a} AS d1, COALESCE(${b}, ${a}) AS d2 FROM ${s}.${t}`)
    .join(' UNION ALL ');
  await store.transaction(async (tx) => {
    await tx.run(`DELETE FROM ${s}.observation_period`);
    await tx.run(
      `INSERT INTO ${s}.observation_period (observation_period_id, person_id, observation_period_start_date, observation_period_end_date, period_type_concept_id)
       SELECT person_id, person_id, min(d1), max(d2), 32817 FROM (${events}) e GROUP BY person_id`,
    );
  });
}

/** Whether a file with these bytes was ingested before (by this run or an earlier one). */
async function alreadyIngested(db: SiteStore, sha256: string): Promise<boolean> {
  const [done] = await db.all('SELECT 1 AS done FROM itda.ingested_file WHERE sha256 = $1', [sha256]);
  return done !== undefined;
}

/** What a run carries from file to file. */
interface IngestRun {
  store: SiteStore;
  files: RunFiles;
  vocabulary: VocabularySource;
  quarantine: Quarantine;
  summary: FhirIngestSummary;
  next: { value: number };
  storeHadIds: boolean;
  cache: IdCache;
  filter: KeyFilter;
  commitEvery: number;
  onProgress?: (resources: number) => void;
}

/** A file's hash, and whether it went to the mapping thread. */
interface FileDecision {
  sha256: string;
  sent: boolean;
}

/** Files hashed ahead of the one being written: enough that a run of small files does not stall the mapping thread. */
const FILES_AHEAD = 4;

/**
 * The run's files: hashed in order in the background, a few ahead of the one being written,
 * and sent to the mapping thread as soon as it is known they will be ingested, so the thread
 * goes from file to file without waiting for the writes. A file is sent ahead only if no
 * earlier run took its bytes and no file before it in this run has them: nothing the files
 * before it do can then make it skipped.
 */
class RunFiles {
  private readonly hashing: Promise<string>[] = [];
  private readonly hashes: (string | undefined)[] = [];
  /** Per file decided so far. */
  private readonly decided: FileDecision[] = [];
  private readonly sentHashes = new Set<string>();

  constructor(
    readonly paths: readonly string[],
    private readonly batchSize: number,
  ) {}

  get length(): number {
    return this.paths.length;
  }

  /** File `index`'s hash, starting those of the next few files too (one at a time: they share the disk). */
  hash(index: number): Promise<string> {
    for (let i = this.hashing.length; i < Math.min(this.paths.length, index + 1 + FILES_AHEAD); i++) {
      const previous = this.hashing[i - 1]?.catch(() => {}) ?? Promise.resolve();
      const hash = previous.then(() => sha256File(this.paths[i]!));
      // A file that cannot be read fails when its turn comes, not before.
      hash.then(
        (h) => {
          this.hashes[i] = h;
        },
        () => {},
      );
      this.hashing.push(hash);
    }
    return this.hashing[index]!;
  }

  /** What was decided for file `index` when it was looked at ahead of its turn. */
  decidedAhead(index: number): FileDecision | undefined {
    return this.decided[index];
  }

  /** Sends file `index` to the mapping thread. */
  send(thread: MappingThread, index: number, sha256: string): void {
    thread.send({ type: 'file', file: this.paths[index]!, batchSize: this.batchSize });
    this.sentHashes.add(sha256);
    this.decided[index] = { sha256, sent: true };
  }

  /** Decides, in order, every later file already hashed, sending those that will be ingested. */
  async sendAhead(tx: SiteStore, thread: MappingThread): Promise<void> {
    for (let i = this.decided.length; i < this.paths.length; i++) {
      const sha256 = this.hashes[i];
      if (sha256 === undefined) return;
      if (this.sentHashes.has(sha256) || (await alreadyIngested(tx, sha256))) this.skip(i, sha256);
      else this.send(thread, i, sha256);
    }
  }

  /** Records that file `index` is skipped. */
  skip(index: number, sha256: string): void {
    this.decided[index] = { sha256, sent: false };
  }
}

/**
 * One file, whose resources the mapping thread is reading: written in parts of about
 * `commitEvery` resources, each its own transaction, so a large file does not hold its rows
 * uncommitted; the last part records the file as ingested. Until then the file is listed as
 * partial (see partial-file.ts), and on an error its committed parts are undone. Meanwhile
 * later files are hashed and sent ahead (`RunFiles`), and the thread's vocabulary questions
 * are answered in the open part's transaction.
 */
async function ingestFile(
  run: IngestRun,
  thread: MappingThread,
  index: number,
  sha256: string,
): Promise<void> {
  const { store, files } = run;
  const file = files.paths[index]!;
  const part = { sha256, path: file, firstId: run.next.value, lastId: 0, started: false };
  const totals = { resources: 0, rowsWritten: 0, quarantined: 0 };
  let carried: FromWorker | undefined;
  let ended = false;
  try {
    while (!ended) {
      await store.transaction(async (tx) => {
        await thread.answerWith((wanted) => run.vocabulary.answer(tx, wanted));
        try {
          await writePart(tx);
        } finally {
          await thread.answerWith(undefined);
        }
      });
    }
  } catch (error) {
    // The failing part is rolled back and the committed ones undone; so are the file's ids,
    // which the cache must forget too. If the undo fails as well, the next run does it.
    run.next.value = part.firstId;
    run.cache.clear();
    if (part.started) await undoPartialFiles(store).catch(() => {});
    throw error;
  }
  run.summary.resources += totals.resources;
  run.summary.rowsWritten += totals.rowsWritten;
  run.summary.quarantined += totals.quarantined;

  /** Writes batches until the part is full or the file ends, then records the part or the file. */
  async function writePart(tx: SiteStore): Promise<void> {
    const stage = new KeyStage(run.storeHadIds);
    const olderRows = { before: part.firstId, rows: [] as [string, number][] };
    let partResources = 0;
    for (;;) {
      const message = carried ?? (await thread.next());
      carried = undefined;
      if (message.type === 'end') {
        ended = true;
        break;
      }
      if (message.type !== 'batch')
        throw new ItdaError('internal', `unexpected ${message.type} from the mapping thread`);
      if (partResources >= run.commitEvery) {
        // This part is full: it commits, and the batch opens the next one.
        carried = message;
        break;
      }
      const { batch } = message;
      for (const q of batch.quarantine) run.quarantine.add({ file, line: q.line, reason: q.reason });
      totals.quarantined += batch.quarantine.length;
      if (batch.resources > 0) {
        const ids = new BatchIds(run.cache, run.filter, batch.namespaces, batch.keys);
        await ids.resolve(tx, run.next, stage);
        for (const table of batch.tables) totals.rowsWritten += await writeRows(tx, table, ids, olderRows);
        totals.resources += batch.resources;
        partResources += batch.resources;
        run.onProgress?.(run.summary.resources + totals.resources);
      }
      thread.send({ type: 'consumed' });
      await files.sendAhead(tx, thread);
    }
    await stage.drop(tx);
    if (!ended) {
      part.lastId = run.next.value - 1;
      await recordPart(tx, part, olderRows.rows);
      part.started = true;
      return;
    }
    if (part.started) await finishParts(tx, sha256);
    await tx.run(
      'INSERT INTO itda.ingested_file (sha256, path, resources, rows_written, quarantined, finished_at) VALUES ($1, $2, $3, $4, $5, $6)',
      [sha256, file, totals.resources, totals.rowsWritten, totals.quarantined, new Date().toISOString()],
    );
  }
}

/**
 * Ingests FHIR R4 files and folders (Bulk Data NDJSON, Bundles) into the store's OMOP CDM
 * v5.4 tables through `mapResource` (HL7 FHIR-to-OMOP IG), file by file, then rebuilds
 * observation periods and eras. A file is all-or-nothing: a large one commits in parts, but
 * one that fails part-way (or whose run is killed) has them undone, at once or at the start
 * of the next run. Bad input is counted and written to `options.quarantineDir`; a store error
 * ends the run. On DuckDB the run holds the store to `INGEST_MEMORY_LIMIT_MIB`.
 */
export async function ingestFhir(
  store: SiteStore,
  paths: readonly string[],
  options: FhirIngestOptions,
): Promise<FhirIngestSummary> {
  return store.withMemoryLimit(INGEST_MEMORY_LIMIT_MIB, () => ingestAll(store, paths, options));
}

export interface FhirIngestOptions {
  quarantineDir: string;
  onProgress?: (resources: number) => void;
  /** Resources mapped and written together (default 5,000). */
  batchSize?: number;
  /** Resources a file writes per transaction, about (default 125,000). */
  commitEvery?: number;
  /** Identity-map entries kept in memory per cache generation; two are kept (default 100,000). */
  idCacheSize?: number;
}

async function ingestAll(
  store: SiteStore,
  paths: readonly string[],
  options: FhirIngestOptions,
): Promise<FhirIngestSummary> {
  const listed = await listFhirFiles(paths);
  const undoneFiles = await undoPartialFiles(store);
  const { first, storeHadIds } = await firstFreeId(store);
  const files = new RunFiles(listed, Math.max(1, options.batchSize ?? BATCH));
  const run: IngestRun = {
    store,
    files,
    vocabulary: new VocabularySource(),
    quarantine: new Quarantine(options.quarantineDir),
    summary: {
      files: files.length,
      skippedFiles: 0,
      undoneFiles,
      resources: 0,
      rowsWritten: 0,
      quarantined: 0,
      report: new MappingReport().summary(),
    },
    next: { value: first },
    storeHadIds,
    cache: new IdCache(Math.max(1, options.idCacheSize ?? ID_CACHE_GENERATION)),
    filter: new KeyFilter(),
    commitEvery: Math.max(1, options.commitEvery ?? COMMIT_EVERY),
    onProgress: options.onProgress,
  };
  const { summary } = run;
  // Started at the first file that is not skipped: a resumed run with nothing to do starts none.
  let mapping: MappingThread | undefined;
  try {
    for (let index = 0; index < files.length; index++) {
      // Later files start hashing now, while this one is written.
      const hashed = files.hash(index);
      const ahead = files.decidedAhead(index);
      const sha256 = ahead?.sha256 ?? (await hashed);
      if (!ahead?.sent) {
        // A file looked at ahead and not sent is one this run or an earlier one has taken.
        if (ahead || (await alreadyIngested(store, sha256))) {
          summary.skippedFiles++;
          files.skip(index, sha256);
          continue;
        }
        mapping ??= new MappingThread();
        files.send(mapping, index, sha256);
      }
      await ingestFile(run, mapping!, index, sha256);
    }
    if (mapping) {
      mapping.send({ type: 'report' });
      const message = await mapping.next();
      if (message.type !== 'report')
        throw new ItdaError('internal', `unexpected ${message.type} from the mapping thread`);
      summary.report = message.report;
      // The thread's heap and the id cache are of no use to the derived tables: let them go first.
      await mapping.close();
      mapping = undefined;
    }
    run.cache.clear();
    if (summary.files > summary.skippedFiles) {
      await rebuildObservationPeriods(store);
      await rebuildEras(store);
    }
  } finally {
    run.quarantine.close();
    await mapping?.close();
  }
  return summary;
}
