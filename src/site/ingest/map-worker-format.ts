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

/**
 * One column, encoded as its rows arrive (so no row object outlives its mapping): numbers
 * while it holds only numbers, text while it holds only strings, mixed once it holds both.
 * A row that does not set the column holds null there.
 */
class ColumnBuilder {
  private kind: 'null' | 'number' | 'text' | 'mixed' = 'null';
  private numbers = new Float64Array(0);
  private codes = new Int32Array(0);
  private readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  private values: OmopValue[] = [];

  set(row: number, value: OmopValue): void {
    if (value === null) return;
    if (typeof value === 'number') {
      if (this.kind === 'null') this.kind = 'number';
      else if (this.kind === 'text') this.toMixed(row);
      if (this.kind === 'number') {
        if (row >= this.numbers.length) this.numbers = grown(this.numbers, row, Number.NaN);
        this.numbers[row] = value;
        return;
      }
    } else {
      if (this.kind === 'null') this.kind = 'text';
      else if (this.kind === 'number') this.toMixed(row);
      if (this.kind === 'text') {
        let code = this.index.get(value);
        if (code === undefined) {
          code = this.strings.length;
          this.strings.push(value);
          this.index.set(value, code);
        }
        if (row >= this.codes.length) this.codes = grown(this.codes, row, -1);
        this.codes[row] = code;
        return;
      }
    }
    this.values[row] = value;
  }

  private toMixed(rows: number): void {
    const column = this.finish(rows);
    this.values = Array.from({ length: rows }, (_, r) => columnValue(column, r));
    this.kind = 'mixed';
  }

  finish(rows: number): ColumnValues {
    switch (this.kind) {
      case 'null':
      case 'number':
        return { kind: 'number', numbers: sized(this.numbers, rows, Number.NaN) };
      case 'text':
        return { kind: 'text', codes: sized(this.codes, rows, -1), strings: this.strings };
      case 'mixed':
        return { kind: 'mixed', values: Array.from({ length: rows }, (_, r) => this.values[r] ?? null) };
    }
  }
}

/** A copy of `array` with room for index `row` at least, the new room filled with `empty`. */
function grown<T extends Float64Array | Int32Array>(array: T, row: number, empty: number): T {
  const next = new (array.constructor as new (n: number) => T)(Math.max(1024, (row + 1) * 2));
  next.set(array);
  next.fill(empty, array.length);
  return next;
}

/** `array` cut or filled (with `empty`) to `rows` entries. */
function sized<T extends Float64Array | Int32Array>(array: T, rows: number, empty: number): T {
  if (array.length === rows) return array;
  if (array.length > rows) return array.slice(0, rows) as T;
  return grown(array, rows - 1, empty).subarray(0, rows) as T;
}

/** One table's rows of a batch, columns in order of first appearance. */
export class TableBuilder {
  private readonly columns = new Map<string, ColumnBuilder>();
  private rows = 0;

  constructor(private readonly table: string) {}

  add(row: Record<string, OmopValue>): void {
    for (const name in row) {
      let column = this.columns.get(name);
      if (column === undefined) {
        column = new ColumnBuilder();
        this.columns.set(name, column);
      }
      column.set(this.rows, row[name] ?? null);
    }
    this.rows++;
  }

  finish(): MappedTable {
    return {
      table: this.table,
      columns: [...this.columns.keys()],
      rows: this.rows,
      values: [...this.columns.values()].map((c) => c.finish(this.rows)),
    };
  }
}
