/**
 * The site's OMOP store behind one interface, on DuckDB (embedded default) or PostgreSQL
 * (sites whose OMOP CDM already lives there). Callers never branch on the dialect for
 * these conventions:
 *
 * - Parameters are positional `$1, $2, …` (both dialects' native form). A JS `Date`
 *   parameter is sent as its UTC ISO string.
 * - Values read back: every integer (INTEGER, BIGINT, HUGEINT, counts, sums) and every
 *   DECIMAL/NUMERIC is a JS number; DATE is `'YYYY-MM-DD'`; TIMESTAMP is an ISO string
 *   `'YYYY-MM-DDTHH:mm:ss.sssZ'` (millisecond precision); NULL is `null`.
 * - TIMESTAMP columns have no time zone (as OMOP defines them) and hold the wall-clock
 *   time as written; an offset in the input is dropped by both dialects, so write UTC or
 *   local clock time consistently. Reading labels that wall-clock time with `Z`.
 * - `appendRows` is all-or-nothing: a bad value or a broken key loads none of the call's
 *   rows and throws `ItdaError` (`validation_failed` or `conflict`).
 * - `transaction(fn)`: every statement made while `fn` runs, through `tx` or through
 *   this store itself, is part of the transaction; nested calls join the outer one. A
 *   throw rolls everything back; so does a failed statement, even when `fn` catches it
 *   (commit then throws rather than silently losing the work).
 */
import { ItdaError } from '../../protocol/errors.ts';

export type StoreKind = 'duckdb' | 'postgres';
export type Row = Record<string, unknown>;
export type SqlValue = string | number | boolean | null | Date;

export interface SiteStore {
  readonly kind: StoreKind;
  /** Schema of the CDM tables (`cdm` unless configured); Itda's own tables are in `itda`. */
  readonly cdmSchema: string;
  /** Where the data lives, safe to print (file path, or URL without password). */
  readonly location: string;
  /** Runs a query and returns its rows as plain objects (see the value conventions above). */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement for its effect. */
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** Runs `fn` in one transaction; any throw rolls everything back. */
  transaction<T>(fn: (tx: SiteStore) => Promise<T>): Promise<T>;
  /**
   * Bulk-loads rows (values in `columns` order) into `schema.table` — the DuckDB appender
   * or PostgreSQL `COPY … FROM STDIN` — and returns the number of rows loaded. Columns
   * left out get their default (NULL for CDM tables). On DuckDB the transaction that loads
   * them (or the call, outside one) is checkpointed once committed.
   */
  appendRows(
    schema: string,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number>;
  /**
   * Runs `fn` with the store's own memory held to at most `mib` MiB: DuckDB's memory limit,
   * set back afterwards (to the configured one, or DuckDB's default). PostgreSQL's memory is
   * its server's, so there it only runs `fn`.
   */
  withMemoryLimit<T>(mib: number, fn: () => Promise<T>): Promise<T>;
  /** Closes the store; later calls fail with `unavailable`. Safe to call twice. */
  close(): Promise<void>;
}

export function isoDate(value: Date): string {
  return value.toISOString().slice(0, 10);
}

/** How `appendRows` checks a value before the database sees it, by column type. */
export type ValueKind = 'integer' | 'bigint' | 'double' | 'boolean' | 'date' | 'timestamp' | 'text' | 'other';

/** The value kind of an `information_schema.columns.data_type` in either dialect. */
export function valueKind(dataType: string): ValueKind {
  const t = dataType.toLowerCase();
  if (t === 'integer' || t === 'smallint' || t === 'tinyint') return 'integer';
  if (t === 'bigint') return 'bigint';
  if (t === 'double' || t === 'double precision' || t === 'float' || t === 'real') return 'double';
  if (t === 'boolean') return 'boolean';
  if (t === 'date') return 'date';
  if (t === 'timestamp' || t === 'timestamp without time zone') return 'timestamp';
  if (t === 'varchar' || t === 'text' || t.startsWith('character varying')) return 'text';
  return 'other';
}

export interface TableColumn {
  name: string;
  kind: ValueKind;
}

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Checks an `appendRows` call before any row is written, so that a wrong column or a
 * value of the wrong type fails the same way on both dialects and loads nothing. Text
 * for a typed column is left to the database to parse.
 */
export function checkAppend(
  target: string,
  tableColumns: readonly TableColumn[],
  columns: readonly string[],
  rows: readonly (readonly SqlValue[])[],
): TableColumn[] {
  if (tableColumns.length === 0) throw new ItdaError('not_found', `no table ${target} in the site store`);
  const byName = new Map(tableColumns.map((c) => [c.name, c]));
  const unknown = columns.filter((c) => !byName.has(c));
  if (unknown.length)
    throw new ItdaError('validation_failed', `${target} has no column ${unknown.join(', ')}`);
  if (new Set(columns).size !== columns.length) {
    throw new ItdaError('validation_failed', `${target}: a column is named twice in ${columns.join(', ')}`);
  }
  const given = columns.map((c) => byName.get(c)!);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    if (row.length !== columns.length) {
      throw new ItdaError(
        'validation_failed',
        `${target}: row ${r + 1} has ${row.length} values for ${columns.length} columns`,
      );
    }
    for (let i = 0; i < given.length; i++) {
      const value = row[i];
      if (value === null || value === undefined || typeof value === 'string') continue;
      const column = given[i]!;
      const problem = valueProblem(column.kind, value);
      if (problem) {
        throw new ItdaError(
          'validation_failed',
          `${target}: row ${r + 1}, ${column.name}: ${describe(value)} ${problem}`,
        );
      }
    }
  }
  return given;
}

function valueProblem(kind: ValueKind, value: number | boolean | Date): string | undefined {
  switch (kind) {
    case 'integer':
    case 'bigint': {
      if (typeof value !== 'number' || !Number.isInteger(value)) return 'is not an integer';
      if (kind === 'integer' && (value < INT32_MIN || value > INT32_MAX))
        return 'is out of range for INTEGER';
      if (!Number.isSafeInteger(value)) return 'is out of range for a JS integer';
      return undefined;
    }
    case 'double':
      return typeof value === 'number' ? undefined : 'is not a number';
    case 'boolean':
      return typeof value === 'boolean' ? undefined : 'is not a boolean';
    case 'date':
    case 'timestamp':
      if (!(value instanceof Date)) return `is not a ${kind}`;
      return Number.isNaN(value.getTime()) ? 'is an invalid Date' : undefined;
    case 'text':
    case 'other':
      return value instanceof Date && Number.isNaN(value.getTime()) ? 'is an invalid Date' : undefined;
  }
}

/** Thrown by `transaction` when a statement inside failed and the database rolled back. */
export function rolledBack(location: string): ItdaError {
  return new ItdaError(
    'conflict',
    `the transaction on ${location} was rolled back because a statement in it failed`,
  );
}

export function closedStore(location: string): ItdaError {
  return new ItdaError('unavailable', `the site store ${location} is closed`);
}

export function transactionEnded(): ItdaError {
  return new ItdaError('internal', 'a transaction handle was used after its transaction ended');
}
