/**
 * The DuckDB site store: one embedded database file and one connection. Statements are
 * serialized: outside a transaction one at a time; a transaction holds the connection
 * for its whole length, and other callers wait for it to end.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type DuckDBAppender,
  DuckDBConnection,
  DuckDBInstance,
  type DuckDBListType,
  type DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
} from '@duckdb/node-api';
import { ItdaError } from '../../protocol/errors.ts';
import {
  checkAppend,
  closedStore,
  isoDate,
  type Row,
  rolledBack,
  type SiteStore,
  type SqlValue,
  type TableColumn,
  transactionEnded,
  valueKind,
} from './store.ts';

class Mutex {
  private tail: Promise<void> = Promise.resolve();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const next = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.tail;
    this.tail = previous.then(() => next);
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}

interface TxScope {
  open: boolean;
  /** Rows were bulk-loaded: the commit is followed by a checkpoint. */
  appended: boolean;
}

/** What a store and the transaction handles it gives out share. */
interface Shared {
  instance: DuckDBInstance;
  connection: DuckDBConnection;
  /** Held by one transaction, or by one statement outside any transaction. */
  connectionLock: Mutex;
  /** Statements inside the transaction, one at a time. */
  statementLock: Mutex;
  /** The open transaction of the current async context, if any. */
  scope: AsyncLocalStorage<TxScope>;
  /** Each appended table's columns, until a statement that may change a table's shape. */
  tableColumns: Map<string, AppendColumn[]>;
  /** The memory limit the store was opened with, as given (`2GB`); unset is DuckDB's default. */
  memoryLimit: string | undefined;
  closed: boolean;
}

type AppendColumn = TableColumn & { hasDefault: boolean };

/**
 * Statements that cannot change any table's columns: one query or DML statement (a `;`
 * inside may start another). Any other statement forgets the columns appends have looked up.
 */
const KEEPS_TABLE_SHAPES = /^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|VALUES|COPY|CHECKPOINT)\b[^;]*;?\s*$/i;

/** Converts a value read from DuckDB to the store's conventions (see store.ts). */
function toJs(value: unknown, type: DuckDBType): unknown {
  if (value === null || value === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.DATE:
      return value instanceof Date ? isoDate(value) : String(value);
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      // ±infinity has no Date; keep DuckDB's own text for it.
      return value instanceof Date && !Number.isNaN(value.getTime()) ? value.toISOString() : String(value);
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY:
      return (value as unknown[]).map((v) => toJs(v, (type as DuckDBListType).valueType));
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const object = value as Record<string, unknown>;
      return Object.fromEntries(
        struct.entryNames.map((name, i) => [name, toJs(object[name], struct.entryTypes[i]!)]),
      );
    }
    default:
      return typeof value === 'bigint' ? Number(value) : value;
  }
}

function toParam(value: SqlValue): string | number | boolean | null {
  return value instanceof Date ? value.toISOString() : value;
}

/** How each column is appended: typed for numbers, so they skip a text round trip. */
enum Slot {
  Omitted,
  OmittedWithDefault,
  Integer,
  BigInt,
  Double,
  Boolean,
  Other,
}

function slotFor(type: DuckDBType): Slot {
  switch (type.typeId) {
    case DuckDBTypeId.INTEGER:
      return Slot.Integer;
    case DuckDBTypeId.BIGINT:
      return Slot.BigInt;
    case DuckDBTypeId.DOUBLE:
      return Slot.Double;
    case DuckDBTypeId.BOOLEAN:
      return Slot.Boolean;
    default:
      return Slot.Other;
  }
}

function appendValue(appender: DuckDBAppender, slot: Slot, value: SqlValue | undefined): void {
  if (value === null || value === undefined) appender.appendNull();
  else if (typeof value === 'number') {
    // checkAppend has made sure a number for an integer column is a safe integer in range.
    if (slot === Slot.Integer) appender.appendInteger(value);
    // A double DuckDB casts to BIGINT, exact for a safe integer, costs a third less than a BigInt.
    else if (slot === Slot.BigInt) appender.appendDouble(value);
    else if (slot === Slot.Double) appender.appendDouble(value);
    else appender.appendVarchar(String(value));
  } else if (typeof value === 'boolean') {
    if (slot === Slot.Boolean) appender.appendBoolean(value);
    else appender.appendVarchar(String(value));
  }
  // Text (and Dates) are cast by DuckDB to the column's type, as a SQL cast would.
  else appender.appendVarchar(value instanceof Date ? value.toISOString() : value);
}

/** The database's own words, with the code a caller can act on. */
function appendError(target: string, error: unknown): unknown {
  if (error instanceof ItdaError || !(error instanceof Error)) return error;
  const message = error.message.replace(/^Failed to append: /, '').split('\n')[0]!;
  if (/duplicate key|primary key|unique constraint/i.test(message)) {
    return new ItdaError('conflict', `${target}: ${message}`);
  }
  if (/NOT NULL|convert|conversion|out of range|invalid input|could not parse/i.test(message)) {
    return new ItdaError('validation_failed', `${target}: ${message}`);
  }
  return error;
}

const BYTES_PER_UNIT: Readonly<Record<string, number>> = {
  bytes: 1,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
};

export class DuckDbSiteStore implements SiteStore {
  readonly kind = 'duckdb' as const;

  private constructor(
    private readonly shared: Shared,
    readonly location: string,
    readonly cdmSchema: string,
    /** Set on the handle `transaction` passes to its callback. */
    private readonly boundScope?: TxScope,
  ) {}

  /** Opens (creating if needed) the database file; `unavailable` names the file when it cannot. */
  static async open(
    file: string,
    cdmSchema: string,
    options: { readOnly?: boolean; memoryLimit?: string | undefined } = {},
  ): Promise<DuckDbSiteStore> {
    let instance: DuckDBInstance | undefined;
    const settings: Record<string, string> = {};
    if (options.readOnly) settings.access_mode = 'READ_ONLY';
    if (options.memoryLimit) settings.memory_limit = options.memoryLimit;
    try {
      instance = await DuckDBInstance.create(file, settings);
      const connection = await DuckDBConnection.create(instance);
      return new DuckDbSiteStore(
        {
          instance,
          connection,
          connectionLock: new Mutex(),
          statementLock: new Mutex(),
          scope: new AsyncLocalStorage(),
          tableColumns: new Map(),
          memoryLimit: options.memoryLimit,
          closed: false,
        },
        file,
        cdmSchema,
      );
    } catch (error) {
      instance?.closeSync();
      const message = (error as Error).message;
      const hint = /lock/i.test(message) ? ' (is a site node already running on this directory?)' : '';
      throw new ItdaError('unavailable', `cannot open the site store ${file}: ${message}${hint}`);
    }
  }

  /** The transaction this call belongs to: the bound one, or the caller's async context's. */
  private openScope(): TxScope | undefined {
    if (this.boundScope) {
      if (!this.boundScope.open) throw transactionEnded();
      return this.boundScope;
    }
    const scope = this.shared.scope.getStore();
    return scope?.open ? scope : undefined;
  }

  private async serialized<T>(fn: (inTransaction: boolean) => Promise<T>, sql?: string): Promise<T> {
    if (this.shared.closed) throw closedStore(this.location);
    const reshapes = sql !== undefined && !KEEPS_TABLE_SHAPES.test(sql);
    // Forgotten once the statement has run, before the next one may look the columns up.
    const locked = (inTransaction: boolean) =>
      reshapes ? fn(inTransaction).finally(() => this.shared.tableColumns.clear()) : fn(inTransaction);
    return this.openScope()
      ? this.shared.statementLock.run(() => locked(true))
      : this.shared.connectionLock.run(() => locked(false));
  }

  all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    return this.serialized(async () => {
      const reader = await this.shared.connection.runAndReadAll(
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
    }, sql);
  }

  run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    return this.serialized(async () => {
      await this.shared.connection.run(sql, params.length ? params.map(toParam) : undefined);
    }, sql);
  }

  async transaction<T>(fn: (tx: SiteStore) => Promise<T>): Promise<T> {
    if (this.shared.closed) throw closedStore(this.location);
    const current = this.openScope();
    if (current) return fn(this.handle(current));
    const scope: TxScope = { open: true, appended: false };
    const result = await this.shared.connectionLock.run(async () => {
      const { connection, statementLock } = this.shared;
      await connection.run('BEGIN TRANSACTION');
      try {
        const result = await this.shared.scope.run(scope, () => fn(this.handle(scope)));
        scope.open = false;
        // Wait for statements fn started but did not await, then make sure none failed:
        // DuckDB answers COMMIT of an aborted transaction by rolling back without a word.
        await statementLock.run(async () => {
          try {
            await connection.run('SELECT 1');
          } catch {
            throw rolledBack(this.location);
          }
          await connection.run('COMMIT');
        });
        return result;
      } catch (error) {
        scope.open = false;
        await statementLock.run(() => connection.run('ROLLBACK')).catch(() => {});
        // A rolled-back statement may have changed a table's shape.
        this.shared.tableColumns.clear();
        throw error;
      }
    });
    // DuckDB checkpoints by itself only when its log passes 16 MB, which bulk loads written
    // straight to the file seldom make it, and a checkpoint takes memory for all that changed
    // since the last: ingesting 20,000 generated patients, one after 900,000 resources took
    // the process from 565 to 720 MB.
    if (scope.appended) await this.run('CHECKPOINT');
    return result;
  }

  private handle(scope: TxScope): DuckDbSiteStore {
    return new DuckDbSiteStore(this.shared, this.location, this.cdmSchema, scope);
  }

  /** A table's columns, remembered: looking them up took longer than appending a batch's rows. */
  private async tableColumns(schema: string, table: string): Promise<AppendColumn[]> {
    const key = `${schema}.${table}`;
    const known = this.shared.tableColumns.get(key);
    if (known) return known;
    // duckdb_columns() answers several times faster than information_schema.
    const reader = await this.shared.connection.runAndReadAll(
      'SELECT column_name, data_type, column_default FROM duckdb_columns() WHERE schema_name = $1 AND table_name = $2 ORDER BY column_index',
      [schema, table],
    );
    const columns = reader.getRowsJS().map((r) => ({
      name: String(r[0]),
      kind: valueKind(String(r[1])),
      hasDefault: r[2] !== null,
    }));
    // A table that is not there yet is looked up again next time.
    if (columns.length > 0) this.shared.tableColumns.set(key, columns);
    return columns;
  }

  appendRows(
    schema: string,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number> {
    const target = `${schema}.${table}`;
    return this.serialized(async (inTransaction) => {
      const tableColumns = await this.tableColumns(schema, table);
      checkAppend(target, tableColumns, columns, rows);
      if (rows.length === 0) return 0;
      const { connection } = this.shared;
      // The appender fills every column in table order; the ones not given get their default (or NULL).
      const positions = tableColumns.map((c) => columns.indexOf(c.name));
      // Outside a transaction, one of our own keeps the call all-or-nothing.
      if (!inTransaction) await connection.run('BEGIN TRANSACTION');
      else this.openScope()!.appended = true;
      let appender: DuckDBAppender | undefined;
      try {
        appender = await connection.createAppender(table, schema);
        const slots = positions.map((p, i) =>
          p >= 0
            ? slotFor(appender!.columnType(i))
            : tableColumns[i]!.hasDefault
              ? Slot.OmittedWithDefault
              : Slot.Omitted,
        );
        for (const row of rows) {
          for (let i = 0; i < slots.length; i++) {
            const slot = slots[i]!;
            if (slot === Slot.Omitted) appender.appendNull();
            else if (slot === Slot.OmittedWithDefault) appender.appendDefault();
            else appendValue(appender, slot, row[positions[i]!]);
          }
          appender.endRow();
        }
        appender.flushSync();
        appender.closeSync();
        appender = undefined;
        if (!inTransaction) {
          await connection.run('COMMIT');
          await connection.run('CHECKPOINT');
        }
        return rows.length;
      } catch (error) {
        if (appender) {
          // Drop the rows not yet flushed so closing does not write them.
          appender.clear();
          try {
            appender.closeSync();
          } catch {}
        }
        if (!inTransaction) await connection.run('ROLLBACK').catch(() => {});
        throw appendError(target, error);
      }
    });
  }

  async withMemoryLimit<T>(mib: number, fn: () => Promise<T>): Promise<T> {
    const [setting] = await this.all<{ value: string }>(
      "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'",
    );
    // DuckDB writes the limit in binary units, as "18.8 GiB".
    const current = /^([\d.]+) (bytes|KiB|MiB|GiB|TiB)$/.exec(setting?.value ?? '');
    if (!current || Number(current[1]) * BYTES_PER_UNIT[current[2]!]! <= mib * 2 ** 20) return fn();
    try {
      await this.run(`SET memory_limit = '${mib}MiB'`);
    } catch {
      // DuckDB refuses a limit below what it cannot free right now: the work runs as it is.
      return fn();
    }
    try {
      return await fn();
    } finally {
      const configured = this.shared.memoryLimit;
      await this.run(configured ? `SET memory_limit = '${configured}'` : 'RESET memory_limit');
    }
  }

  async close(): Promise<void> {
    if (this.boundScope) throw new ItdaError('internal', 'close the store, not a transaction handle');
    if (this.shared.closed) return;
    if (this.openScope()) throw new ItdaError('internal', 'cannot close the site store inside a transaction');
    await this.shared.connectionLock.run(async () => {
      if (this.shared.closed) return;
      this.shared.closed = true;
      this.shared.connection.closeSync();
      this.shared.instance.closeSync();
    });
  }
}
