/**
 * The DuckDB site store: one embedded database file, one connection. Callers are
 * serialized, so a transaction never sees another caller's statements.
 */
import {
  type DuckDBAppender,
  DuckDBConnection,
  DuckDBInstance,
  type DuckDBType,
  DuckDBTypeId,
} from '@duckdb/node-api';
import { ItdaError } from '../../protocol/errors.ts';
import type { Row, SiteStore, SqlValue } from './store.ts';
import { isoDate } from './store.ts';

class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    return release;
  }
}

function toJs(value: unknown, type: DuckDBType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.DATE:
      return isoDate(value as Date);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return (value as Date).toISOString();
    default:
      return typeof value === 'bigint' ? Number(value) : value;
  }
}

function toParam(value: SqlValue): string | number | boolean | null {
  return value instanceof Date ? value.toISOString() : value;
}

function appendValue(appender: DuckDBAppender, value: SqlValue): void {
  if (value === null || value === undefined) appender.appendNull();
  else if (typeof value === 'number') {
    if (Number.isInteger(value)) appender.appendVarchar(String(value));
    else appender.appendDouble(value);
  } else if (typeof value === 'boolean') appender.appendBoolean(value);
  else if (value instanceof Date)
    appender.appendVarchar(value.toISOString().replace('T', ' ').replace('Z', ''));
  // The appender casts VARCHAR to each column's type, so dates and numbers arrive as text.
  else appender.appendVarchar(value);
}

export class DuckDbSiteStore implements SiteStore {
  readonly kind = 'duckdb' as const;
  private readonly mutex = new Mutex();
  private inTransaction = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly location: string,
    readonly cdmSchema: string,
  ) {}

  static async open(
    file: string,
    cdmSchema: string,
    options: { readOnly?: boolean } = {},
  ): Promise<DuckDbSiteStore> {
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file, options.readOnly ? { access_mode: 'READ_ONLY' } : {});
    } catch (error) {
      const message = (error as Error).message;
      const hint = /lock/i.test(message) ? ' (is a site node already running on this directory?)' : '';
      throw new ItdaError('unavailable', `cannot open the site store ${file}: ${message}${hint}`);
    }
    return new DuckDbSiteStore(instance, await DuckDBConnection.create(instance), file, cdmSchema);
  }

  private async locked<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    const release = await this.mutex.lock();
    try {
      return await fn();
    } finally {
      release();
    }
  }

  all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.locked(async () => {
      const reader = await this.connection.runAndReadAll(
        sql,
        params.length ? params.map(toParam) : undefined,
      );
      const types = reader.columnTypes();
      const names = reader.columnNames();
      return reader.getRowsJS().map((values) => {
        const row: Row = {};
        for (let i = 0; i < names.length; i++) row[names[i]!] = toJs(values[i], types[i]!);
        return row as T;
      });
    });
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.locked(async () => {
      await this.connection.run(sql, params.length ? params.map(toParam) : undefined);
    });
  }

  transaction<T>(fn: (tx: SiteStore) => Promise<T>): Promise<T> {
    return this.locked(async () => {
      if (this.inTransaction) return fn(this);
      await this.connection.run('BEGIN TRANSACTION');
      this.inTransaction = true;
      try {
        const result = await fn(this);
        await this.connection.run('COMMIT');
        return result;
      } catch (error) {
        await this.connection.run('ROLLBACK');
        throw error;
      } finally {
        this.inTransaction = false;
      }
    });
  }

  appendRows(
    schema: string,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    return this.locked(async () => {
      // The appender fills every column in table order; columns not given get NULL.
      const reader = await this.connection.runAndReadAll(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
        [schema, table],
      );
      const tableColumns = reader.getRowsJS().map((r) => String(r[0]));
      if (tableColumns.length === 0)
        throw new ItdaError('not_found', `no table ${schema}.${table} in the site store`);
      const positions = tableColumns.map((c) => columns.indexOf(c));
      const unknown = columns.filter((c) => !tableColumns.includes(c));
      if (unknown.length)
        throw new ItdaError('validation_failed', `${schema}.${table} has no column ${unknown.join(', ')}`);
      const appender = await this.connection.createAppender(table, schema);
      try {
        for (const row of rows) {
          for (const p of positions) appendValue(appender, p < 0 ? null : (row[p] ?? null));
          appender.endRow();
        }
        appender.flushSync();
      } finally {
        appender.closeSync();
      }
      return rows.length;
    });
  }

  async close(): Promise<void> {
    const release = await this.mutex.lock();
    try {
      this.connection.closeSync();
      this.instance.closeSync();
    } finally {
      release();
    }
  }
}
