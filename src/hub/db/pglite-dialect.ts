/**
 * Kysely on PGlite (PostgreSQL compiled to WASM): the embedded hub database.
 *
 * PGlite is one connection, so the "pool" hands it out to one user at a time; without
 * that, a query from one request could land inside another request's transaction.
 */
import type { PGlite } from '@electric-sql/pglite';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import { PostgresDialect } from 'kysely';

class PgliteExclusivePool implements PostgresPool {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly db: PGlite) {}

  async connect(): Promise<PostgresPoolClient> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.queue;
    this.queue = previous.then(() => released);
    await previous;
    const db = this.db;
    return {
      async query<R>(sql: string, parameters: readonly unknown[]): Promise<PostgresQueryResult<R>> {
        const result = await db.query<R>(sql, parameters as unknown[]);
        const command = sql.trimStart().slice(0, 6).toUpperCase() as PostgresQueryResult<R>['command'];
        return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
      },
      release,
    } as PostgresPoolClient;
  }

  async end(): Promise<void> {
    await this.queue;
    await this.db.close();
  }
}

export function pgliteDialect(db: PGlite): PostgresDialect {
  return new PostgresDialect({ pool: new PgliteExclusivePool(db) });
}
