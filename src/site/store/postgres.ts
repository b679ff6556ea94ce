/**
 * The PostgreSQL site store: for hospitals whose OMOP CDM already lives in PostgreSQL,
 * or that prefer a server to an embedded file.
 */
import pg from 'pg';
import { quoteIdent } from '../../omop/ddl.ts';
import { ItdaError } from '../../protocol/errors.ts';
import type { Row, SiteStore, SqlValue } from './store.ts';

// Per-pool type parsing (the hub shares the process and keeps its own conventions).
const TYPE_PARSERS: Record<number, (value: string) => unknown> = {
  20: Number, // int8
  1700: Number, // numeric
  1082: (v) => v, // date stays 'YYYY-MM-DD'
  1114: (v) => new Date(`${v.replace(' ', 'T')}Z`).toISOString(), // timestamp (no zone: stored as UTC)
  1184: (v) => new Date(v).toISOString(), // timestamptz
};
const types = {
  getTypeParser(oid: number, format?: string) {
    return (
      TYPE_PARSERS[oid] ?? (pg.types.getTypeParser as (oid: number, format?: string) => unknown)(oid, format)
    );
  },
} as pg.CustomTypesConfig;

const BATCH_ROWS = 5000;

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

export class PostgresSiteStore implements SiteStore {
  readonly kind = 'postgres' as const;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly client: pg.PoolClient | undefined,
    readonly location: string,
    readonly cdmSchema: string,
  ) {}

  static async open(url: string, cdmSchema: string): Promise<PostgresSiteStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4, types });
    try {
      (await pool.connect()).release();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new ItdaError(
        'unavailable',
        `cannot connect to ITDA_SITE_STORE_URL (${redactUrl(url)}): ${(error as Error).message}`,
      );
    }
    return new PostgresSiteStore(pool, undefined, redactUrl(url), cdmSchema);
  }

  private get db(): pg.Pool | pg.PoolClient {
    return this.client ?? this.pool;
  }

  async all<T = Row>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
    const result = await this.db.query(sql, params as SqlValue[]);
    return result.rows as T[];
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<void> {
    await this.db.query(sql, params as SqlValue[]);
  }

  async transaction<T>(fn: (tx: SiteStore) => Promise<T>): Promise<T> {
    if (this.client) return fn(this);
    const client = await this.pool.connect();
    const tx = new PostgresSiteStore(this.pool, client, this.location, this.cdmSchema);
    try {
      await client.query('BEGIN');
      const result = await fn(tx);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async appendRows(
    schema: string,
    table: string,
    columns: readonly string[],
    rows: readonly (readonly SqlValue[])[],
  ): Promise<number> {
    const target = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    const list = columns.map(quoteIdent).join(', ');
    // One statement per batch: the server expands a JSON array into typed rows.
    const sql = `INSERT INTO ${target} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${target}, $1::json)`;
    for (let start = 0; start < rows.length; start += BATCH_ROWS) {
      const batch = rows.slice(start, start + BATCH_ROWS).map((row) => {
        const record: Record<string, SqlValue> = {};
        columns.forEach((c, i) => {
          const v = row[i] ?? null;
          record[c] = v instanceof Date ? v.toISOString() : v;
        });
        return record;
      });
      await this.db.query(sql, [JSON.stringify(batch)]);
    }
    return rows.length;
  }

  async close(): Promise<void> {
    if (!this.client) await this.pool.end();
  }
}
