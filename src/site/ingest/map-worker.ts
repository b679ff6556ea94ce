/**
 * The reading and mapping half of `itda ingest`, on a worker thread: it reads a file, parses
 * and maps each batch of resources with `mapResource`, and posts the rows back as arrays in
 * column order, so the main thread only resolves ids and writes. The vocabulary stays in the
 * store: the worker asks the main thread for the codes a batch names that it has not seen,
 * and keeps every answer for the run. Ids are placeholders (-1, -2, … in order of first use
 * within the batch) that the main thread swaps for store ids.
 */
import { parentPort } from 'node:worker_threads';
import {
  type ConceptInfo,
  type ConceptLookup,
  type FhirResource,
  type IdAllocator,
  MappingReport,
  mapResource,
  readFhirFile,
  vocabularyOf,
} from '../../fhir/index.ts';
import type { OmopValue } from '../../fhir/types.ts';
import type {
  ColumnValues,
  ConceptAnswer,
  FromWorker,
  MappedBatch,
  MappedTable,
  ToWorker,
} from './map-worker-format.ts';

/** Batches mapped ahead of the writes: enough to keep both threads busy, few enough for flat memory. */
const AHEAD = 2;

/** The vocabulary answers this worker has been given, kept for the run. */
class AnsweredConcepts implements ConceptLookup {
  private readonly byCode = new Map<string, ConceptInfo | null>();
  private readonly maps = new Map<number, ConceptInfo[]>();
  private readonly vocabularies = new Map<string, string | undefined>();

  /** `vocabularyOf`, remembered per system URI (a batch names the same few systems many times). */
  private vocabularyOf(system: string): string | undefined {
    if (this.vocabularies.has(system)) return this.vocabularies.get(system);
    const vocabulary = vocabularyOf(system);
    this.vocabularies.set(system, vocabulary);
    return vocabulary;
  }

  /** Every (vocabulary, code) the resources mention that has not been answered yet. */
  wanted(resources: readonly FhirResource[]): [string, string][] {
    const wanted = new Map<string, [string, string]>();
    // Every object with a string system and code, at any depth (codings, quantities' units).
    const walk = (value: object): void => {
      if (Array.isArray(value)) {
        for (const item of value) if (item !== null && typeof item === 'object') walk(item);
        return;
      }
      const v = value as Record<string, unknown>;
      const { system, code } = v;
      if (typeof system === 'string' && typeof code === 'string') {
        const vocabulary = this.vocabularyOf(system);
        if (vocabulary) {
          const k = `${vocabulary}|${code}`;
          if (!this.byCode.has(k)) wanted.set(k, [vocabulary, code]);
        }
      }
      for (const name in v) {
        const child = v[name];
        if (child !== null && typeof child === 'object') walk(child);
      }
    };
    for (const resource of resources) walk(resource);
    return [...wanted.values()];
  }

  absorb(answer: ConceptAnswer): void {
    for (const [vocabulary, code] of answer.asked) this.byCode.set(`${vocabulary}|${code}`, null);
    for (const c of answer.found) {
      this.byCode.set(`${c.vocabulary_id}|${c.concept_code}`, c);
      if (!this.maps.has(c.concept_id)) this.maps.set(c.concept_id, []);
    }
    for (const { source_id, ...target } of answer.targets) this.maps.get(source_id)?.push(target);
  }

  sourceConcept(vocabularyId: string, code: string): ConceptInfo | undefined {
    return this.byCode.get(`${vocabularyId}|${code}`) ?? undefined;
  }

  mapsTo(conceptId: number): readonly ConceptInfo[] {
    return this.maps.get(conceptId) ?? [];
  }
}

/** Every key of a batch gets a placeholder, in order of first use; the main thread resolves them. */
class PlaceholderIds implements IdAllocator {
  readonly namespaces: string[] = [];
  readonly keys: string[] = [];
  private readonly byNamespace = new Map<string, Map<string, number>>();

  idFor(namespace: string, key: string): number {
    let keys = this.byNamespace.get(namespace);
    if (keys === undefined) {
      keys = new Map();
      this.byNamespace.set(namespace, keys);
    }
    let placeholder = keys.get(key);
    if (placeholder === undefined) {
      this.namespaces.push(namespace);
      this.keys.push(key);
      placeholder = -this.keys.length;
      keys.set(key, placeholder);
    }
    return placeholder;
  }
}

/** One column of rows, encoded by what it holds. */
function encodeColumn(rows: readonly Record<string, OmopValue>[], column: string): ColumnValues {
  let numbers = 0;
  let texts = 0;
  for (const row of rows) {
    const v = row[column];
    if (typeof v === 'number') numbers++;
    else if (typeof v === 'string') texts++;
  }
  if (texts === 0) {
    const values = new Float64Array(rows.length);
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![column];
      values[r] = typeof v === 'number' ? v : Number.NaN;
    }
    return { kind: 'number', numbers: values };
  }
  if (numbers === 0) {
    const codes = new Int32Array(rows.length);
    const strings: string[] = [];
    const index = new Map<string, number>();
    for (let r = 0; r < rows.length; r++) {
      const v = rows[r]![column];
      if (typeof v !== 'string') {
        codes[r] = -1;
        continue;
      }
      let code = index.get(v);
      if (code === undefined) {
        code = strings.length;
        strings.push(v);
        index.set(v, code);
      }
      codes[r] = code;
    }
    return { kind: 'text', codes, strings };
  }
  return { kind: 'mixed', values: rows.map((row) => row[column] ?? null) };
}

/** Rows of one table, columns in order of first appearance (absent values null). */
function encodeTable(table: string, rows: readonly Record<string, OmopValue>[]): MappedTable {
  const columns: string[] = [];
  const known = new Set<string>();
  for (const row of rows) {
    for (const column in row) {
      if (!known.has(column)) {
        known.add(column);
        columns.push(column);
      }
    }
  }
  return { table, columns, rows: rows.length, values: columns.map((c) => encodeColumn(rows, c)) };
}

/** The buffers a batch can hand over instead of copying. */
function transferables(batch: MappedBatch): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const table of batch.tables) {
    for (const column of table.values) {
      if (column.kind === 'number') buffers.push(column.numbers.buffer as ArrayBuffer);
      else if (column.kind === 'text') buffers.push(column.codes.buffer as ArrayBuffer);
    }
  }
  return buffers;
}

const port = parentPort;
if (!port) throw new Error('map-worker runs as a worker thread');

const concepts = new AnsweredConcepts();
const report = new MappingReport();
const inbox: ToWorker[] = [];
let waiting: (() => void) | undefined;
let credits = AHEAD;

port.on('message', (message: ToWorker) => {
  if (message.type === 'consumed') credits++;
  else inbox.push(message);
  waiting?.();
});

const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

/** The next message of these types (the main thread sends them in the order the worker needs them). */
async function receive<T extends ToWorker['type']>(...types: T[]): Promise<Extract<ToWorker, { type: T }>> {
  for (;;) {
    const index = inbox.findIndex((m) => (types as string[]).includes(m.type));
    if (index >= 0) return inbox.splice(index, 1)[0] as Extract<ToWorker, { type: T }>;
    await new Promise<void>((resolve) => {
      waiting = resolve;
    });
    waiting = undefined;
  }
}

async function untilCredit(): Promise<void> {
  while (credits === 0) {
    await new Promise<void>((resolve) => {
      waiting = resolve;
    });
    waiting = undefined;
  }
  credits--;
}

async function mapBatch(
  batch: readonly { resource: FhirResource; line: number }[],
  quarantine: MappedBatch['quarantine'],
): Promise<MappedBatch> {
  if (batch.length > 0) {
    const wanted = concepts.wanted(batch.map((b) => b.resource));
    if (wanted.length > 0) {
      post({ type: 'codes', wanted });
      concepts.absorb((await receive('concepts')).answer);
    }
  }
  const ids = new PlaceholderIds();
  const byTable = new Map<string, Record<string, OmopValue>[]>();
  for (const b of batch) {
    const result = mapResource(b.resource, { concepts, ids });
    report.add(result);
    if (result.outcome.status === 'quarantined') {
      quarantine.push({ line: b.line, reason: `${result.outcome.reason}: ${result.outcome.detail}` });
    }
    for (const r of result.rows) {
      if (r.merge) continue;
      const rows = byTable.get(r.table);
      if (rows) rows.push(r.row);
      else byTable.set(r.table, [r.row]);
    }
  }
  return {
    resources: batch.length,
    quarantine,
    namespaces: ids.namespaces,
    keys: ids.keys,
    tables: [...byTable].map(([table, rows]) => encodeTable(table, rows)),
  };
}

async function mapFile(file: string, batchSize: number): Promise<void> {
  let batch: { resource: FhirResource; line: number }[] = [];
  let quarantine: MappedBatch['quarantine'] = [];
  const flush = async () => {
    if (batch.length === 0 && quarantine.length === 0) return;
    await untilCredit();
    const mapped = await mapBatch(batch, quarantine);
    post({ type: 'batch', batch: mapped }, transferables(mapped));
    batch = [];
    quarantine = [];
  };
  for await (const item of readFhirFile(file)) {
    if (item.kind === 'quarantine') {
      report.addReason('quarantined', item.reason);
      quarantine.push({ line: item.line, reason: `${item.reason}: ${item.detail}` });
      continue;
    }
    batch.push({ resource: item.resource, line: item.line });
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  post({ type: 'end' });
}

for (;;) {
  const message = await receive('file', 'report');
  if (message.type === 'report') {
    post({ type: 'report', report: report.summary() });
    continue;
  }
  await mapFile(message.file, message.batchSize);
}
