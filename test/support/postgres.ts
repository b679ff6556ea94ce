/**
 * A throw-away PostgreSQL database per test file, for the dialect loops
 * (`[pglite, postgres]` on the hub, `[duckdb, postgres]` on the site).
 *
 * The server comes from ITDA_TEST_POSTGRES_URL (default: the local trust-auth server on
 * 127.0.0.1:5432). When it cannot be reached the PostgreSQL leg is skipped on a
 * developer machine, but in CI (CI=true) that is an error: a skipped leg there would hide
 * a dialect bug.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL =
  process.env.ITDA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let reachable: Promise<boolean> | undefined;

export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const client = new pg.Client({ connectionString: TEST_POSTGRES_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } catch (error) {
      if (process.env.CI) {
        throw new Error(
          `PostgreSQL is required in CI but ${TEST_POSTGRES_URL} is unreachable: ${String(error)}`,
        );
      }
      console.warn(`PostgreSQL leg skipped: ${TEST_POSTGRES_URL} unreachable (${String(error)})`);
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return reachable;
}

export interface TempDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates an empty database and returns its URL; `drop()` removes it. */
export async function createTempDatabase(prefix = 'itda_test'): Promise<TempDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
