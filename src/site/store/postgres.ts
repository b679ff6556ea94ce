/**
 * The PostgreSQL site store: for hospitals whose OMOP CDM already lives in PostgreSQL,
 * or that prefer a server to an embedded file. A pool of connections; a transaction gets
 * one connection of its own for its whole length.
 */

import { AsyncLocalStorage } from 'node:async_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { quoteIdent } from '../../omop/ddl.ts';
import { redactUrl } from '../../protocol/env.ts';
import { ItdaError } from '../../protocol/errors.ts';
import {
  checkAppend,
  closedStore,
  type Row,
  rolledBack,
  type SiteStore,
  type SqlValue,
  type TableColumn,
  transactionEnded,
  valueKind,
} from './store.ts';

/** A timestamp without zone is the wall clock as written; label it UTC (see store.ts). */
function timestampToIso(text: string): string {
  const date = new Date(`${text.replace(' ', 'T')}Z`);
  return Number.isNaN(date.getTime()) ? text : date.toISOString(); // ±infinity, BC dates
}

// Per-pool parsers: the hub shares the process and keeps pg's defaults for itself.
const TYPE_PARSERS: Record<number, (value: string) => unknown> = {
  20: Number, // int8: counts and BIGINT keys
  1700: Number, // numeric
  1082: (v) => v, // date stays 'YYYY-MM-DD'
  1114: timestampToIso, // timestamp
  1184: (v) => {
    const date = new Date(v);
    return Number.isNaN(date.getTime()) ? v : date.toISOString();
  }, // timestamptz
};
const types = {
  getTypeParser(oid: number, format?: string) {
    return (
      TYPE_PARSERS[oid] ?? (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format)
    );
  },
} as pg.CustomTypesConfig;

function toParam(value: SqlValue): string | number | boolean | null {
  // pg would format a Date in the process's local zone; the store's convention is UTC.
  return value instanceof Date ? value.toISOString() : value;
}

/** One value in COPY's text format (https://www.postgresql.org/docs/current/sql-copy.html). */
function copyField(value: SqlValue | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? 't' : 'f';
  const text = value instanceof Date ? value.toISOString() : value;
  return /[\\\n\r\t]/.test(text)
    ? text.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('\r', '\\r').replaceAll('\t', '\\t')
    : text;
}

const COPY_CHUNK_ROWS = 1000;

function* copyText(rows: readonly (readonly SqlValue[])[]): Generator<string> {
  for (let start = 0; start < rows.length; start += COPY_CHUNK_ROWS) {
    let chunk = '';
    const end = Math.min(rows.length, start + COPY_CHUNK_ROWS);
    for (let r = start; r < end; r++) chunk += `${rows[r]!.map(copyField).join('\t')}\n`;
    yield chunk;
  }
}

/** SQLSTATEs of bad data (class 22, NOT NULL, CHECK) and of broken keys. */
function appendError(target: string, error: unknown): unknown {
  if (error instanceof ItdaError || !(error instanceof Error)) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = error.message.split('\n')[0]!;
  if (code === '23505') return new ItdaError('conflict', `${target}: ${message}`);
  if (code.startsWith('22') || code === '23502' || code === '23514') {
    return new ItdaError('validation_failed', `${target}: ${message}`);
  }
  return error;
}

interface TxScope {
  open: boolean;
  client: pg.PoolClient;
}

interface Shared {
  pool: pg.Pool;
  /** The open transaction of the current async context, if any. */
  scope: AsyncLocalStorage<TxScope>;
  closed: boolean;
}

export class PostgresSiteStore implements SiteStore {
  readonly kind = 'postgres' as const;

  private constructor(
    private readonly shared: Shared,
    readonly location: string,
    readonly cdmSchema: string,
    /** Set on the handle `transaction` passes to its callback. */
    private readonly boundScope?: TxScope,
  ) {}

  /** Connects once to check the URL; `unavailable` names the URL (password hidden) when it cannot. */
  static async open(url: string, cdmSchema: string): Promise<PostgresSiteStore> {
    const location = redactUrl(url);
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      types,
      connectionTimeoutMillis: 10_000,
      application_name: 'itda-site',
    });
    // An idle connection dropped by the server must not crash the site node; the next
    // query reconnects or reports the error to its caller.
    pool.on('error', () => {});
    try {
      (await pool.connect()).release();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new ItdaError(
        'unavailable',
        `cannot connect to ITDA_SITE_STORE_URL (${location}): ${(error as Error).message}`,
      );
    }
    return new PostgresSiteStore(
      { pool, scope: new AsyncLocalStorage(), closed: false },
      location,
      cdmSchema,
    );
  }

  private openScope(): TxScope | undefined {
    if (this.boundScope) {
      if (!this.boundScope.open) throw transactionEnded();
      return this.boundScope;
    }
    const scope = this.shared.scope.getStore();
    return scope?.open ? scope : undefined;
  }

  private db(): pg.Pool | pg.PoolClient {
    if (this.shared.closed) throw closedStore(this.location);
    return this.openScope()?.client ?? this.shared.pool;
  }

  async all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.db().query(sql, params.map(toParam));
    return result.rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    await this.db().query(sql, params.map(toParam));
  }

  async transaction<T>(fn: (tx: SiteStore) => Promise<T>): Promise<T> {
    if (this.shared.closed) throw closedStore(this.location);
    const current = this.openScope();
    if (current) return fn(this.handle(current));
    const client = await this.shared.pool.connect();
    const scope: TxScope = { open: true, client };
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const result = await this.shared.scope.run(scope, () => fn(this.handle(scope)));
      scope.open = false;
      // PostgreSQL answers COMMIT of an aborted transaction with ROLLBACK, not an error.
      const commit = await client.query('COMMIT');
      if (commit.command === 'ROLLBACK') throw rolledBack(this.location);
      return result;
    } catch (error) {
      scope.open = false;
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw error;
    } finally {
      // A connection that cannot even roll back is discarded, not returned to the pool.
      client.release(broken);
    }
  }

  private handle(scope: TxScope): PostgresSiteStore {
    return new PostgresSiteStore(this.shared, this.location, this.cdmSchema, scope);
  }

  async appendRows(
    schema: string,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number> {
    const target = `${schema}.${table}`;
    const scope = this.openScope();
    if (this.shared.closed) throw closedStore(this.location);
    const client = scope?.client ?? (await this.shared.pool.connect());
    let broken: Error | undefined;
    try {
      const { rows: found } = await client.query<{ column_name: string; data_type: string }>(
        'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position',
        [schema, table],
      );
      const tableColumns: TableColumn[] = found.map((c) => ({
        name: c.column_name,
        kind: valueKind(c.data_type),
      }));
      checkAppend(target, tableColumns, columns, rows);
      if (rows.length === 0) return 0;
      // One COPY is one statement, so the call is all-or-nothing without a transaction of its own.
      const copy = client.query(
        copyFrom(
          `COPY ${quoteIdent(schema)}.${quoteIdent(table)} (${columns.map(quoteIdent).join(', ')}) FROM STDIN`,
        ),
      );
      await pipeline(Readable.from(copyText(rows)), copy);
      return rows.length;
    } catch (error) {
      if (!(error instanceof ItdaError)) broken = error as Error;
      throw appendError(target, error);
    } finally {
      // After a failed COPY the connection's state is uncertain: discard it.
      if (!scope) client.release(broken);
    }
  }

  withMemoryLimit<T>(_mib: number, fn: () => Promise<T>): Promise<T> {
    return fn();
  }

  async close(): Promise<void> {
    if (this.boundScope) throw new ItdaError('internal', 'close the store, not a transaction handle');
    if (this.shared.closed) return;
    this.shared.closed = true;
    await this.shared.pool.end();
  }
}
