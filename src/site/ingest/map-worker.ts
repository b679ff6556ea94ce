/**
 * The reading and mapping half of `itda ingest`, on a worker thread: it reads a file, parses
 * and maps each batch of resources with `mapResource`, and posts the rows back column by
 * column (`TableBuilder`), so the main thread only resolves ids and writes. The vocabulary
 * stays in the store: the worker asks the main thread for the codes a batch names that it
 * has not seen, and keeps every answer for the run. Ids are placeholders (-1, -2, … in order
 * of first use within the batch) that the main thread swaps for store ids.
 */
import { parentPort } from 'node:worker_threads';
import {
  type ConceptInfo,
  type ConceptLookup,
  type FhirResource,
  type IdAllocator,
  MappingReport,
  type MappingResult,
  mapResource,
  readFhirFileInChunks,
  vocabularyOf,
} from '../../fhir/index.ts';
import {
  type ConceptAnswer,
  type FromWorker,
  type MappedBatch,
  TableBuilder,
  type ToWorker,
} from './map-worker-format.ts';

/** Batches mapped ahead of the writes: enough to keep both threads busy, few enough for flat memory. */
const AHEAD = 4;

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
    for (const resource of resources) this.walk(resource, wanted);
    return [...wanted.values()];
  }

  /** Whether every code the resource mentions has been answered. */
  answers(resource: FhirResource): boolean {
    this.unanswered.clear();
    this.walk(resource, this.unanswered);
    return this.unanswered.size === 0;
  }

  private readonly unanswered = new Map<string, [string, string]>();

  /** Every object with a string system and code, at any depth (codings, quantities' units). */
  private walk(value: object, wanted: Map<string, [string, string]>): void {
    if (Array.isArray(value)) {
      for (const item of value) if (item !== null && typeof item === 'object') this.walk(item, wanted);
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
      if (child !== null && typeof child === 'object') this.walk(child, wanted);
    }
  }

  absorb(answer: ConceptAnswer): void {
    for (const [vocabulary, code] of answer.asked) this.byCode.set(`${vocabulary}|${code}`, null);
    for (const c of answer.found) {
      this.byCode.set(`${c.vocabulary_id}|${c.concept_code}`, c);
      if (!this.maps.has(c.concept_id)) this.maps.set(c.concept_id, []);
    }
    for (const { source_id, ...target } of answer.targets) this.maps.get(source_id)?.push(target);
  }

  /** Set when `sourceConcept` is asked for a code no answer covers yet. */
  missed = false;

  sourceConcept(vocabularyId: string, code: string): ConceptInfo | undefined {
    const concept = this.byCode.get(`${vocabularyId}|${code}`);
    if (concept === undefined) this.missed = true;
    return concept ?? undefined;
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

  // Consecutive calls mostly name the same namespace (a batch is one resource type).
  private lastNamespace: string | undefined;
  private lastKeys = new Map<string, number>();

  idFor(namespace: string, key: string): number {
    let keys = namespace === this.lastNamespace ? this.lastKeys : this.byNamespace.get(namespace);
    if (keys === undefined) {
      keys = new Map();
      this.byNamespace.set(namespace, keys);
    }
    this.lastNamespace = namespace;
    this.lastKeys = keys;
    let placeholder = keys.get(key);
    if (placeholder === undefined) {
      this.namespaces.push(namespace);
      this.keys.push(key);
      placeholder = -this.keys.length;
      keys.set(key, placeholder);
    }
    return placeholder;
  }

  /** A point `rollback` can return to. */
  mark(): number {
    return this.keys.length;
  }

  /** Forgets every key given a placeholder since `mark`. */
  rollback(mark: number): void {
    for (let i = mark; i < this.keys.length; i++)
      this.byNamespace.get(this.namespaces[i]!)!.delete(this.keys[i]!);
    this.namespaces.length = mark;
    this.keys.length = mark;
  }
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

/** Resolves when the main thread's next message arrives. */
async function nextMessage(): Promise<void> {
  await new Promise<void>((resolve) => {
    waiting = resolve;
  });
  waiting = undefined;
}

/** The next message of these types (the main thread sends them in the order the worker needs them). */
async function receive<T extends ToWorker['type']>(...types: T[]): Promise<Extract<ToWorker, { type: T }>> {
  for (;;) {
    const index = inbox.findIndex((m) => (types as string[]).includes(m.type));
    if (index >= 0) return inbox.splice(index, 1)[0] as Extract<ToWorker, { type: T }>;
    await nextMessage();
  }
}

async function untilCredit(): Promise<void> {
  while (credits === 0) await nextMessage();
  credits--;
}

/**
 * One batch being mapped. A resource whose codes are all answered already is mapped as soon
 * as it is read, so its parsed form dies young; once one needs the store, it and every later
 * one wait for the batch's question, keeping the order of mapping (and so of ids) the order
 * of reading. Each result is counted in the report as it is mapped, so it keeps no row
 * alive; the batch's quarantine lists reading's entries first, then mapping's.
 */
class BatchBuilder {
  private readonly ids = new PlaceholderIds();
  private readonly byTable = new Map<string, TableBuilder>();
  private readonly readingQuarantine: MappedBatch['quarantine'] = [];
  private readonly mappingQuarantine: MappedBatch['quarantine'] = [];
  private readonly waiting: { resource: FhirResource; line: number }[] = [];
  resources = 0;

  get empty(): boolean {
    return this.resources === 0 && this.readingQuarantine.length === 0;
  }

  unreadable(line: number, reason: string, detail: string): void {
    report.addReason('quarantined', reason);
    this.readingQuarantine.push({ line, reason: `${reason}: ${detail}` });
  }

  add(resource: FhirResource, line: number): void {
    this.resources++;
    if (this.waiting.length === 0) {
      // Mapped at once; undone, to wait, only if a lookup missed a code the resource names
      // that no answer covers yet (a miss on a code it does not name would miss later too).
      const mark = this.ids.mark();
      concepts.missed = false;
      const result = mapResource(resource, { concepts, ids: this.ids });
      if (!concepts.missed || concepts.answers(resource)) {
        this.keep(result, line);
        return;
      }
      this.ids.rollback(mark);
    }
    this.waiting.push({ resource, line });
  }

  private keep(result: MappingResult, line: number): void {
    report.add(result);
    if (result.outcome.status === 'quarantined') {
      this.mappingQuarantine.push({ line, reason: `${result.outcome.reason}: ${result.outcome.detail}` });
    }
    for (const r of result.rows) {
      if (r.merge) continue;
      let table = this.byTable.get(r.table);
      if (table === undefined) {
        table = new TableBuilder(r.table);
        this.byTable.set(r.table, table);
      }
      table.add(r.row);
    }
  }

  async finish(): Promise<MappedBatch> {
    if (this.waiting.length > 0) {
      const wanted = concepts.wanted(this.waiting.map((w) => w.resource));
      if (wanted.length > 0) {
        post({ type: 'codes', wanted });
        concepts.absorb((await receive('concepts')).answer);
      }
      for (const w of this.waiting) this.keep(mapResource(w.resource, { concepts, ids: this.ids }), w.line);
    }
    return {
      resources: this.resources,
      quarantine: [...this.readingQuarantine, ...this.mappingQuarantine],
      namespaces: this.ids.namespaces,
      keys: this.ids.keys,
      tables: [...this.byTable.values()].map((table) => table.finish()),
    };
  }
}

async function mapFile(file: string, batchSize: number): Promise<void> {
  let batch = new BatchBuilder();
  const flush = async () => {
    if (batch.empty) return;
    await untilCredit();
    const mapped = await batch.finish();
    post({ type: 'batch', batch: mapped }, transferables(mapped));
    batch = new BatchBuilder();
  };
  for await (const items of readFhirFileInChunks(file)) {
    for (const item of items) {
      if (item.kind === 'quarantine') {
        batch.unreadable(item.line, item.reason, item.detail);
        continue;
      }
      batch.add(item.resource, item.line);
      if (batch.resources >= batchSize) await flush();
    }
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
