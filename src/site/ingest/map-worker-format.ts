/**
 * What the main thread and the mapping thread (`map-worker.ts`) say to each other, and the
 * column encoding mapped rows cross threads in.
 */
import type { ConceptInfo, MappingReport } from '../../fhir/index.ts';
import type { OmopValue } from '../../fhir/types.ts';

/** Main thread → worker. */
export type ToWorker =
  | { type: 'file'; file: string; batchSize: number }
  | { type: 'concepts'; answer: ConceptAnswer }
  /** The main thread has written one more batch: the worker may map one more ahead. */
  | { type: 'consumed' }
  | { type: 'report' };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'codes'; wanted: [vocabulary: string, code: string][] }
  | { type: 'batch'; batch: MappedBatch }
  | { type: 'end' }
  | { type: 'report'; report: ReturnType<MappingReport['summary']> };

/** The store's answer for the codes a batch asked for. */
export interface ConceptAnswer {
  asked: [vocabulary: string, code: string][];
  found: ConceptInfo[];
  /** "Maps to" targets of the found concepts the worker has not been told about. */
  targets: (ConceptInfo & { source_id: number })[];
}

/** One batch, mapped: rows per table with placeholder ids, and the keys they stand for. */
export interface MappedBatch {
  resources: number;
  /** Bad input of the batch in the order it is to be recorded: reading first, then mapping. */
  quarantine: { line: number; reason: string }[];
  /** Placeholder -(i + 1) stands for (namespaces[i], keys[i]). */
  namespaces: string[];
  keys: string[];
  tables: MappedTable[];
}

/**
 * One table's rows, column by column, in a form that crosses threads cheaply: numbers in a
 * Float64Array (NaN for null; the mapper writes no NaN), text as indexes into the column's
 * distinct strings (-1 for null; dates repeat across rows), anything mixed as plain values.
 */
export interface MappedTable {
  table: string;
  columns: string[];
  rows: number;
  values: ColumnValues[];
}

export type ColumnValues =
  | { kind: 'number'; numbers: Float64Array }
  | { kind: 'text'; codes: Int32Array; strings: string[] }
  | { kind: 'mixed'; values: OmopValue[] };

/** The value of row `r` of a column. */
export function columnValue(column: ColumnValues, r: number): OmopValue {
  switch (column.kind) {
    case 'number': {
      const n = column.numbers[r]!;
      return Number.isNaN(n) ? null : n;
    }
    case 'text': {
      const code = column.codes[r]!;
      return code < 0 ? null : column.strings[code]!;
    }
    case 'mixed':
      return column.values[r] ?? null;
  }
}
