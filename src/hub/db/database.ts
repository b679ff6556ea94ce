/**
 * Opens the hub database: PostgreSQL when a URL is given, embedded PGlite otherwise.
 * Both speak the same SQL, so every store works on either.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, type Transaction, type TransactionBuilder } from 'kysely';
import pg from 'pg';
import { redactUrl } from '../../protocol/env.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { DEFAULT_POOL_SIZE } from '../config.ts';
import { runMigrations } from './migrations.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import type { HubDatabase } from './schema.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface HubDb {
  kind: DatabaseKind;
  db: Kysely<HubDatabase>;
  close(): Promise<void>;
}

/** What a before-commit hook may return: called once the commit (or rollback) is over. */
export type AfterSettle = (committed: boolean) => void;
// Anything but a function returned by a hook is ignored.
type BeforeCommit = () => Promise<unknown>;
const beforeCommitHooks = new WeakMap<object, BeforeCommit[]>();

/**
 * Runs `hook` inside `trx` after the transaction's own work and right before it commits
 * (a hook that throws rolls the transaction back). A hook may return a function, called
 * with whether the transaction committed once it has. Returns false when `trx` was not opened
 * through the hub database (then nothing is registered and the caller must act at once).
 */
export function onBeforeCommit(trx: Kysely<HubDatabase>, hook: BeforeCommit): boolean {
  const hooks = beforeCommitHooks.get(trx);
  if (!hooks) return false;
  hooks.push(hook);
  return true;
}

/**
 * Kysely whose transactions run their before-commit hooks; the audit log uses this to
 * chain a transaction's entries at its very end, so the chain lock is held only for the
 * append and the commit rather than the whole transaction.
 */
class HubKysely extends Kysely<HubDatabase> {
  override transaction(): TransactionBuilder<HubDatabase> {
    return withBeforeCommit(super.transaction());
  }
}

function withBeforeCommit(builder: TransactionBuilder<HubDatabase>): TransactionBuilder<HubDatabase> {
  const hooked = {
    setAccessMode: (mode: Parameters<TransactionBuilder<HubDatabase>['setAccessMode']>[0]) =>
      withBeforeCommit(builder.setAccessMode(mode)),
    setIsolationLevel: (level: Parameters<TransactionBuilder<HubDatabase>['setIsolationLevel']>[0]) =>
      withBeforeCommit(builder.setIsolationLevel(level)),
    execute: <T>(callback: (trx: Transaction<HubDatabase>) => Promise<T>): Promise<T> =>
      settle(builder, callback),
  };
  // TransactionBuilder's fields are private, so a wrapper with its public surface is cast.
  return hooked as unknown as TransactionBuilder<HubDatabase>;
}

async function settle<T>(
  builder: TransactionBuilder<HubDatabase>,
  callback: (trx: Transaction<HubDatabase>) => Promise<T>,
): Promise<T> {
  const afterSettle: AfterSettle[] = [];
  let committed = false;
  try {
    const result = await builder.execute(async (trx) => {
      const hooks: BeforeCommit[] = [];
      beforeCommitHooks.set(trx, hooks);
      const value = await callback(trx);
      // A hook may register another (an audit entry written by a hook); run until none is left.
      for (let next = hooks.shift(); next; next = hooks.shift()) {
        const after = await next();
        if (typeof after === 'function') afterSettle.push(after as AfterSettle);
      }
      beforeCommitHooks.delete(trx);
      return value;
    });
    committed = true;
    return result;
  } finally {
    for (const after of afterSettle) after(committed);
  }
}

// Timestamps come back as Date, bigint counts as number (they stay far below 2^53).
pg.types.setTypeParser(20, (value) => Number(value));

export async function openHubDatabase(options: {
  databaseUrl?: string;
  dataDir: string;
  /** Most PostgreSQL connections at once (ITDA_DATABASE_POOL); PGlite has one. */
  poolSize?: number;
  onIdleError?: (error: Error) => void;
}): Promise<HubDb> {
  let hubDb: HubDb;
  if (options.databaseUrl) {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? DEFAULT_POOL_SIZE,
    });
    // An idle connection the server drops (restart, failover, a dropped database) is
    // replaced on next use; without a listener pg would throw it at the process.
    pool.on('error', (error) => options.onIdleError?.(error));
    try {
      const client = await pool.connect();
      client.release();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new ItdaError(
        'unavailable',
        `cannot connect to ITDA_DATABASE_URL (${redactUrl(options.databaseUrl)}): ${(error as Error).message}`,
      );
    }
    hubDb = {
      kind: 'postgres',
      db: new HubKysely({ dialect: new PostgresDialect({ pool }) }),
      close,
    };
  } else {
    const dir = path.join(options.dataDir, 'pgdata');
    await fs.mkdir(dir, { recursive: true });
    let pglite: PGlite;
    try {
      pglite = await PGlite.create(dir);
    } catch (error) {
      throw new ItdaError(
        'unavailable',
        `cannot open the embedded database in ${dir}: ${(error as Error).message}`,
      );
    }
    hubDb = { kind: 'pglite', db: new HubKysely({ dialect: pgliteDialect(pglite) }), close };
  }
  async function close() {
    await hubDb.db.destroy();
  }
  await runMigrations(hubDb.db);
  return hubDb;
}
