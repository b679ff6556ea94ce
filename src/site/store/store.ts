/**
 * The site's OMOP store behind one interface, on DuckDB (embedded default) or
 * PostgreSQL (sites whose OMOP already lives there).
 *
 * Conventions, the same on both dialects so callers never branch:
 * - parameters are positional `$1, $2, …`;
 * - integers (including BIGINT and counts) come back as JS numbers, NUMERIC/DECIMAL as
 *   numbers, DATE as 'YYYY-MM-DD', TIMESTAMP as an ISO string 'YYYY-MM-DDTHH:mm:ss.sssZ',
 *   NULL as null.
 */
export type StoreKind = 'duckdb' | 'postgres';
export type Row = Record<string, unknown>;
export type SqlValue = string | number | boolean | null | Date;

export interface SiteStore {
  readonly kind: StoreKind;
  /** Schema of the CDM tables (`cdm` unless configured). */
  readonly cdmSchema: string;
  /** Where the data lives, safe to print (file path, or URL without password). */
  readonly location: string;
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  run(sql: string, params?: readonly SqlValue[]): Promise<void>;
  /** Runs `fn` in one transaction; any throw rolls everything back. */
  transaction<T>(fn: (tx: SiteStore) => Promise<T>): Promise<T>;
  /**
   * Bulk-loads rows (values in `columns` order) into `schema.table`: the DuckDB appender
   * or one set-based INSERT per batch on PostgreSQL — never row-by-row statements.
   */
  appendRows(
    schema: string,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number>;
  close(): Promise<void>;
}

export function isoDate(value: Date): string {
  return value.toISOString().slice(0, 10);
}
