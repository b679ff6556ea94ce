/**
 * Streaming readers for FHIR R4 input: Bulk Data NDJSON (`.ndjson`, `.ndjson.gz`), one
 * resource per line, and Bundles (transaction, collection, searchset) as JSON files.
 * Bad input never throws out of the reader: it comes out as a `bad` item naming the file
 * and line, and reading goes on.
 *
 * In Bundles, `urn:uuid:` references (what Synthea and most transaction bundles use) are
 * rewritten to `Type/id` so that references resolve like any other.
 */
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';

export type FhirResource = { resourceType: string; id?: string } & Record<string, unknown>;

export type FhirItem =
  | { kind: 'resource'; file: string; line: number; resource: FhirResource }
  | { kind: 'bad'; file: string; line: number; reason: string };

const NDJSON = /\.ndjson(\.gz)?$/i;
const JSON_FILE = /\.json$/i;

/** Files under the given paths (folders walked recursively), in a stable order. */
export function listFhirFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(p).sort()) walk(path.join(p, name));
    } else if (NDJSON.test(p) || JSON_FILE.test(p)) out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

function checkResource(value: unknown): string | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return 'not a JSON object';
  const type = (value as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) return 'no resourceType';
  return undefined;
}

async function* readNdjson(file: string): AsyncGenerator<FhirItem> {
  const raw = fs.createReadStream(file);
  const input = file.toLowerCase().endsWith('.gz') ? raw.pipe(createGunzip()) : raw;
  let line = 0;
  for await (const text of readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
    line++;
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield { kind: 'bad', file, line, reason: `malformed JSON: ${(error as Error).message}` };
      continue;
    }
    const problem = checkResource(value);
    if (problem) yield { kind: 'bad', file, line, reason: problem };
    else yield { kind: 'resource', file, line, resource: value as FhirResource };
  }
}

/** Rewrites every `reference` found in `value` through `map`. */
function rewriteReferences(value: unknown, map: Map<string, string>): void {
  if (Array.isArray(value)) {
    for (const v of value) rewriteReferences(v, map);
  } else if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.reference === 'string' && map.has(record.reference))
      record.reference = map.get(record.reference);
    for (const v of Object.values(record)) if (v && typeof v === 'object') rewriteReferences(v, map);
  }
}

async function* readBundleFile(file: string): AsyncGenerator<FhirItem> {
  let value: unknown;
  try {
    value = JSON.parse(await fs.promises.readFile(file, 'utf8'));
  } catch (error) {
    yield { kind: 'bad', file, line: 1, reason: `malformed JSON: ${(error as Error).message}` };
    return;
  }
  const problem = checkResource(value);
  if (problem) {
    yield { kind: 'bad', file, line: 1, reason: problem };
    return;
  }
  const root = value as FhirResource;
  if (root.resourceType !== 'Bundle') {
    yield { kind: 'resource', file, line: 1, resource: root };
    return;
  }
  const entries = Array.isArray(root.entry) ? (root.entry as { fullUrl?: string; resource?: unknown }[]) : [];
  const urls = new Map<string, string>();
  for (const entry of entries) {
    const r = entry?.resource as FhirResource | undefined;
    if (entry?.fullUrl && r?.resourceType && r.id) urls.set(entry.fullUrl, `${r.resourceType}/${r.id}`);
  }
  for (const [index, entry] of entries.entries()) {
    const problem = checkResource(entry?.resource);
    if (problem) {
      yield { kind: 'bad', file, line: index + 1, reason: `entry ${index}: ${problem}` };
      continue;
    }
    const resource = entry.resource as FhirResource;
    rewriteReferences(resource, urls);
    yield { kind: 'resource', file, line: index + 1, resource };
  }
}

/**
 * Every resource in the given files or folders. `line` is the 1-based line of an NDJSON
 * file, or the 1-based entry number in a Bundle.
 */
export async function* readFhir(paths: readonly string[]): AsyncGenerator<FhirItem> {
  for (const file of listFhirFiles(paths)) {
    yield* NDJSON.test(file) ? readNdjson(file) : readBundleFile(file);
  }
}
