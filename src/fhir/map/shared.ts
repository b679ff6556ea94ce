/** Helpers every resource mapper uses: defensive reads, references, dates, rejections. */
import { type OmopDate, parseFhirDateTime } from '../datetime.ts';
import type { IdAllocator } from '../ids.ts';
import { parseReference, type ResourceKey, referenceTo } from '../references.ts';
import type {
  CodeableConcept,
  FhirResource,
  OmopRow,
  OmopTable,
  OmopValue,
  QuarantineReason,
  SkipReason,
  UnmappedCode,
} from '../types.ts';
import type { ConceptLookup, ResolvedCode } from '../vocabulary.ts';

/** What a mapper needs from outside: the vocabulary and the id allocator (both injected). */
export interface MappingContext {
  concepts: ConceptLookup;
  ids: IdAllocator;
  /**
   * A Medication named by `medication[x]` as a reference, when the caller indexed them
   * (contained Medications are found without it).
   */
  medication?: (key: ResourceKey) => FhirResource | undefined;
}

/** Thrown inside a mapper to stop with an outcome; `mapResource` turns it into the result. */
export class Rejection extends Error {
  constructor(
    readonly outcome: 'quarantined' | 'skipped',
    readonly reason: QuarantineReason | SkipReason,
    readonly detail: string,
  ) {
    super(detail);
  }
}

export const quarantine = (reason: QuarantineReason, detail: string) =>
  new Rejection('quarantined', reason, detail);
export const skip = (reason: SkipReason, detail: string) => new Rejection('skipped', reason, detail);

export function obj(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function codeable(value: unknown): CodeableConcept | undefined {
  return obj(value) as CodeableConcept | undefined;
}

/** The first code of a CodeableConcept, optionally only from one system. */
export function firstCode(value: unknown, system?: string): string | undefined {
  for (const coding of arr(codeable(value)?.coding)) {
    const c = obj(coding);
    if (c && (system === undefined || c.system === system) && str(c.code)) return c.code as string;
  }
  return undefined;
}

/** Cut a source value to its OMOP column width (CDM v5.4 varchar lengths). */
export function cut(value: string | null | undefined, width: number): string | null {
  if (value === undefined || value === null) return null;
  return value.length > width ? value.slice(0, width) : value;
}

export function requireId(resource: FhirResource): string {
  const id = str(resource.id);
  if (!id) throw quarantine('missing_id', `${resource.resourceType} without id`);
  return id;
}

/** The person a resource is about; quarantines `missing_subject` when there is none. */
export function requirePerson(context: MappingContext, reference: unknown, path: string): number {
  const key = parseReference(reference, 'Patient');
  if (key?.resourceType !== 'Patient') {
    throw quarantine('missing_subject', `${path} does not reference a Patient`);
  }
  return context.ids.idFor('Patient', key.id);
}

/** The OMOP id of a referenced resource of one of `types`, or null. */
export function optionalId(
  context: MappingContext,
  reference: unknown,
  types: readonly string[],
): number | null {
  const key = referenceTo(reference, types);
  return key ? context.ids.idFor(key.resourceType, key.id) : null;
}

/** A date that must be there: `missing_date` when absent, `impossible_date` when not a date. */
export function requireDate(value: unknown, path: string): OmopDate {
  if (value === undefined || value === null || value === '') throw quarantine('missing_date', `no ${path}`);
  return parseDate(value, path);
}

/** A date that may be absent; present but impossible still quarantines. */
export function optionalDate(value: unknown, path: string): OmopDate | null {
  if (value === undefined || value === null || value === '') return null;
  return parseDate(value, path);
}

/** Dates parsed lately, shared and never changed: one encounter's resources repeat a few timestamps. */
const recentDates = new Map<string, OmopDate>();

function parseDate(value: unknown, path: string): OmopDate {
  const known = typeof value === 'string' ? recentDates.get(value) : undefined;
  if (known) return known;
  const parsed = parseFhirDateTime(value);
  if (!parsed.ok) throw quarantine('impossible_date', `${path}: ${parsed.detail}`);
  if (typeof value === 'string') {
    if (recentDates.size >= 4096) recentDates.clear();
    recentDates.set(value, parsed.value);
  }
  return parsed.value;
}

/** The first of several candidate date elements that is present. */
export function firstPresent(...values: unknown[]): unknown {
  return values.find((v) => v !== undefined && v !== null && v !== '');
}

/** Skip a resource whose status says it did not happen (FHIR status is a modifier element). */
export function excludeStatus(resource: FhirResource, excluded: readonly string[], element = 'status'): void {
  const status = str(resource[element]);
  if (status && excluded.includes(status)) {
    throw skip('excluded_status', `${resource.resourceType}.${element} = ${status}`);
  }
}

/** Rows and unmapped codes collected while mapping one resource. */
export class RowCollector {
  readonly rows: OmopRow[] = [];
  readonly unmapped: UnmappedCode[] = [];

  add(table: OmopTable, row: Record<string, OmopValue>): void {
    this.rows.push({ table, row });
  }

  merge(table: OmopTable, row: Record<string, OmopValue>): void {
    this.rows.push({ table, row, merge: true });
  }

  /** Report a code that reached no standard concept for `table.column`. */
  reportUnmapped(table: OmopTable, column: string, code: ResolvedCode | undefined): void {
    this.unmapped.push({
      table,
      column,
      system: code?.coding?.system ?? null,
      code: code?.coding?.code ?? code?.sourceValue ?? null,
      display: code?.coding?.display ?? null,
    });
  }
}
