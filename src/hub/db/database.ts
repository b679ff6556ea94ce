/**
 * Opens the hub database: PostgreSQL when a URL is given, embedded PGlite otherwise.
 * Both speak the same SQL, so every store works on either.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { redactUrl } from '../../protocol/env.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { runMigrations } from './migrations.ts';
import { pgliteDialect } from './pglite-dialect.ts';
import type { HubDatabase } from './schema.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export interface HubDb {
  kind: DatabaseKind;
  db: Kysely<HubDatabase>;
  close(): Promise<void>;
}

// Timestamps come back as Date, bigint counts as number (they stay far below 2^53).
pg.types.setTypeParser(20, (value) => Number(value));

export async function openHubDatabase(options: {
  databaseUrl?: string;
  dataDir: string;
  onIdleError?: (error: Error) => void;
}): Promise<HubDb> {
  let hubDb: HubDb;
  if (options.databaseUrl) {
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 10 });
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
      db: new Kysely<HubDatabase>({ dialect: new PostgresDialect({ pool }) }),
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
    hubDb = { kind: 'pglite', db: new Kysely<HubDatabase>({ dialect: pgliteDialect(pglite) }), close };
  }
  async function close() {
    await hubDb.db.destroy();
  }
  await runMigrations(hubDb.db);
  return hubDb;
}
