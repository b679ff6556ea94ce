/**
 * Readers for FHIR R4 exports: Bulk Data NDJSON (https://hl7.org/fhir/uv/bulkdata/, one
 * resource per line, `*.ndjson` or `*.ndjson.gz`) read line by line so memory stays flat
 * whatever the file size; and Bundles (http://hl7.org/fhir/R4/bundle.html: transaction,
 * batch, collection, searchset, document) in `*.json` / `*.json.gz`, one file in memory at a
 * time, yielding each entry's resource.
 *
 * Bad input never throws out of the iterator: a malformed line, a resource without
 * resourceType or an unreadable file is yielded as a quarantine item and reading goes on.
 */
import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import { ItdaError } from '../protocol/errors.ts';
import type { FhirResource } from './types.ts';

/** A resource read from a file. */
export interface ReadResource {
  kind: 'resource';
  file: string;
  /** NDJSON: the 1-based line. Bundle: the 1-based entry number (`Bundle.entry[line − 1]`). 0: a file holding one resource. */
  line: number;
  resource: FhirResource;
}

/** Input that is not a readable resource. */
export interface ReadQuarantine {
  kind: 'quarantine';
  file: string;
  /** As in ReadResource; 0 when the whole file is concerned. */
  line: number;
  reason: 'malformed_json' | 'missing_resource_type' | 'entry_without_resource' | 'unreadable_file';
  detail: string;
  /** The start of the offending text, for the quarantine file. */
  text?: string;
}

export type ReadItem = ReadResource | ReadQuarantine;

const NDJSON = /\.ndjson(\.gz)?$/i;
const JSON_FILE = /\.json(\.gz)?$/i;

/** Whether a file name is one the readers take. */
export function isFhirFile(file: string): boolean {
  return NDJSON.test(file) || JSON_FILE.test(file);
}

/**
 * Every FHIR file under `paths` (files or folders, folders walked recursively, in name
 * order so runs are reproducible). A path that does not exist is a usage error
 * (`ItdaError('not_found')`), raised before anything is read.
 */
export async function listFhirFiles(paths: string | readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const p of typeof paths === 'string' ? [paths] : paths) {
    const stat = await fs.stat(p).catch(() => undefined);
    if (!stat) throw new ItdaError('not_found', `no such file or folder: ${p}`, { path: p });
    if (stat.isDirectory()) files.push(...(await walk(p)));
    else files.push(p);
  }
  return files;
}

async function walk(dir: string): Promise<string[]> {
  const entries = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  );
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(full)));
    else if (entry.isFile() && isFhirFile(entry.name)) files.push(full);
  }
  return files;
}

/**
 * Read FHIR resources from files and folders (NDJSON and Bundles), in file order.
 * Yields `{ kind: 'resource', file, line, resource }` or `{ kind: 'quarantine', file, line, reason }`.
 */
export async function* readFhirResources(paths: string | readonly string[]): AsyncGenerator<ReadItem> {
  for (const file of await listFhirFiles(paths)) {
    yield* readFhirFile(file);
  }
}

/** Read one file: NDJSON by its name, anything else as a JSON Bundle or single resource. */
export async function* readFhirFile(file: string): AsyncGenerator<ReadItem> {
  for await (const items of readFhirFileInChunks(file)) yield* items;
}

/**
 * `readFhirFile` a chunk of the file at a time (about 1 MB of NDJSON; a Bundle whole), for a
 * reader that handles many resources per step: an await per resource costs more than the
 * reading. An NDJSON line is parsed only when its item is taken, so a reader that is done
 * with each resource before the next keeps one parsed at a time, not a chunk's worth.
 */
export async function* readFhirFileInChunks(file: string): AsyncGenerator<Iterable<ReadItem>> {
  if (NDJSON.test(file)) yield* readNdjsonInChunks(file);
  else {
    const items: ReadItem[] = [];
    for await (const item of readJsonFile(file)) items.push(item);
    yield items;
  }
}

/**
 * FHIR Bulk Data NDJSON, plain or gzip, one line at a time. Blank lines are ignored. Lines
 * end as `readline` ends them (LF, CRLF or a lone CR), split out of large chunks: a line
 * interface per line costs more than the JSON.parse after it.
 */
export async function* readNdjson(file: string): AsyncGenerator<ReadItem> {
  for await (const items of readNdjsonInChunks(file)) yield* items;
}

const LF = 0x0a;
const CR = 0x0d;

async function* readNdjsonInChunks(file: string): AsyncGenerator<Iterable<ReadItem>> {
  let line = 0;
  let input: Readable = createReadStream(file, { highWaterMark: 1 << 20 });
  if (/\.gz$/i.test(file)) input = input.pipe(createGunzip({ chunkSize: 1 << 20 }));
  // A stream error (truncated gzip, permission) must end this file, not the whole run.
  let streamError: Error | undefined;
  input.on('error', (error) => {
    streamError = error;
  });
  // Bytes after the last line end read so far: the start of a line still being read.
  let pending: Buffer[] = [];
  const splitLines = (bytes: Buffer, endsAtLf: boolean): Iterable<ReadItem> => {
    let text = decode(bytes);
    // The CR of a CRLF whose LF ended the bytes.
    if (endsAtLf && text.endsWith('\r')) text = text.slice(0, -1);
    const lines = text.includes('\r') ? text.split(/\r\n|\r|\n/) : text.split('\n');
    const first = line + 1;
    line += lines.length;
    return parsedLines(file, first, lines);
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      // Lines are split on bytes: an LF or CR byte is never part of a multi-byte UTF-8
      // character, so what comes before one decodes whole. A CR last in the chunk may be
      // the first half of a CRLF, so it waits for the next chunk.
      let end = chunk.lastIndexOf(LF);
      const endsAtLf = end >= 0;
      if (!endsAtLf) end = chunk.lastIndexOf(CR, chunk.length - 2);
      if (end < 0) {
        pending.push(chunk);
        continue;
      }
      const head = chunk.subarray(0, end);
      const bytes = pending.length === 0 ? head : Buffer.concat([...pending, head]);
      pending = [chunk.subarray(end + 1)];
      yield splitLines(bytes, endsAtLf);
    }
    let rest = Buffer.concat(pending);
    // A CR that ends the file ends its last line.
    if (rest.at(-1) === CR) rest = rest.subarray(0, -1);
    if (rest.length > 0) yield splitLines(rest, false);
  } catch (error) {
    streamError ??= error instanceof Error ? error : new Error(String(error));
  } finally {
    input.destroy();
  }
  if (streamError) {
    yield [
      { kind: 'quarantine', file, line: line + 1, reason: 'unreadable_file', detail: streamError.message },
    ];
  }
}

/** Each non-blank line parsed as it is taken; `first` is the number of `lines[0]`. */
function* parsedLines(file: string, first: number, lines: readonly string[]): Generator<ReadItem> {
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!;
    // A line that starts with `{` is not blank; only others need the whitespace check.
    if (text.charCodeAt(0) === 123 || text.trim() !== '') yield parseResourceText(file, first + i, text);
  }
}

/** UTF-8 text of whole characters; ASCII (most exports) is copied as is, which is several times faster. */
function decode(bytes: Buffer): string {
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
}

function parseResourceText(file: string, line: number, text: string): ReadItem {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return {
      kind: 'quarantine',
      file,
      line,
      reason: 'malformed_json',
      detail: (error as Error).message,
      text: text.slice(0, 200),
    };
  }
  return asResource(file, line, parsed, text);
}

function asResource(file: string, line: number, parsed: unknown, text?: string): ReadItem {
  const resource = parsed as FhirResource | null;
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    return {
      kind: 'quarantine',
      file,
      line,
      reason: 'missing_resource_type',
      detail: 'not a JSON object',
      ...snippet(text),
    };
  }
  if (typeof resource.resourceType !== 'string' || resource.resourceType === '') {
    return {
      kind: 'quarantine',
      file,
      line,
      reason: 'missing_resource_type',
      detail: 'no resourceType',
      ...snippet(text),
    };
  }
  return { kind: 'resource', file, line, resource };
}

const snippet = (text: string | undefined) => (text === undefined ? {} : { text: text.slice(0, 200) });

const gunzipAsync = promisify(gunzip);

/** A `.json` file: a Bundle (each entry yielded) or a single resource (line 0). */
export async function* readJsonFile(file: string): AsyncGenerator<ReadItem> {
  let text: string;
  try {
    const bytes = await fs.readFile(file);
    text = (/\.gz$/i.test(file) ? await gunzipAsync(bytes) : bytes).toString('utf8');
  } catch (error) {
    yield { kind: 'quarantine', file, line: 0, reason: 'unreadable_file', detail: (error as Error).message };
    return;
  }
  const item = parseResourceText(file, 0, text);
  if (item.kind === 'quarantine' || item.resource.resourceType !== 'Bundle') {
    yield item;
    return;
  }
  yield* bundleEntries(file, item.resource);
}

/**
 * The resources of a Bundle, with `urn:uuid:` / `urn:oid:` fullUrls resolved: a resource
 * without an id takes the one its fullUrl carries, and every reference to a fullUrl of this
 * bundle is rewritten to `Type/id` (FHIR R4 Bundle, "Resolving references in Bundles"), so
 * the mapper sees ordinary references. Synthea's transaction bundles rely on this.
 */
export function* bundleEntries(file: string, bundle: FhirResource): Generator<ReadItem> {
  const entries = Array.isArray(bundle.entry) ? (bundle.entry as unknown[]) : [];
  const byFullUrl = new Map<string, string>();
  for (const entry of entries) {
    const e = entry as { fullUrl?: unknown; resource?: FhirResource } | null;
    const resource = e?.resource;
    if (typeof e?.fullUrl !== 'string' || typeof resource?.resourceType !== 'string') continue;
    const urn = /^urn:(?:uuid|oid):(.+)$/.exec(e.fullUrl);
    if (typeof resource.id !== 'string' && urn) resource.id = urn[1]!;
    if (typeof resource.id === 'string') byFullUrl.set(e.fullUrl, `${resource.resourceType}/${resource.id}`);
  }
  for (let index = 0; index < entries.length; index++) {
    const line = index + 1;
    const resource = (entries[index] as { resource?: unknown } | null)?.resource;
    if (resource === undefined) {
      yield {
        kind: 'quarantine',
        file,
        line,
        reason: 'entry_without_resource',
        detail: 'Bundle.entry without resource',
      };
      continue;
    }
    const item = asResource(file, line, resource);
    if (item.kind === 'resource' && byFullUrl.size > 0) rewriteReferences(item.resource, byFullUrl);
    yield item;
  }
}

/** Replace `reference` values that name a bundle fullUrl with the resource's `Type/id`. */
function rewriteReferences(node: unknown, byFullUrl: ReadonlyMap<string, string>): void {
  if (Array.isArray(node)) {
    for (const child of node) rewriteReferences(child, byFullUrl);
    return;
  }
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === 'reference' && typeof value === 'string') {
      const target = byFullUrl.get(value);
      if (target) record.reference = target;
    } else if (typeof value === 'object' && value !== null) {
      rewriteReferences(value, byFullUrl);
    }
  }
}
