/**
 * Site stores for tests on each site dialect: DuckDB in a temp folder and a throw-away
 * PostgreSQL database (required in CI, see postgres.ts).
 */
import fs from 'node:fs/promises';
import { type OpenSiteStoreOptions, openSiteStore } from '../../src/site/store/open.ts';
import type { SiteStore } from '../../src/site/store/store.ts';
import { tempDir } from './hub.ts';
import { createTempDatabase, postgresReachable } from './postgres.ts';

export const SITE_DIALECTS = ['duckdb', 'postgres'] as const;
export type SiteDialect = (typeof SITE_DIALECTS)[number];

export interface TestStore {
  store: SiteStore;
  dir: string;
  url: string | undefined;
  /** Reopens the same data (after `store.close()`). */
  reopen(options?: Partial<OpenSiteStoreOptions>): Promise<SiteStore>;
  dispose(): Promise<void>;
}

/** A migrated, empty site store, or undefined when PostgreSQL is unreachable outside CI. */
export async function openTestStore(
  dialect: SiteDialect,
  options: Partial<OpenSiteStoreOptions> = {},
): Promise<TestStore | undefined> {
  const dir = await tempDir('itda-site-');
  let url: string | undefined;
  let drop = async () => {};
  if (dialect === 'postgres') {
    if (!(await postgresReachable())) return undefined;
    const db = await createTempDatabase('itda_site');
    url = db.url;
    drop = db.drop;
  }
  const open = (more: Partial<OpenSiteStoreOptions> = {}) => openSiteStore({ dir, url, ...options, ...more });
  let current = await open();
  return {
    get store() {
      return current;
    },
    dir,
    url,
    async reopen(more) {
      current = await open(more);
      return current;
    },
    async dispose() {
      await current.close().catch(() => {});
      await drop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

/** A DuckDB store's memory limit as DuckDB writes it ("18.8 GiB"). */
export async function duckdbMemoryLimit(store: SiteStore): Promise<string | undefined> {
  const [row] = await store.all<{ value: string }>(
    "SELECT value FROM duckdb_settings() WHERE name = 'memory_limit'",
  );
  return row?.value;
}
