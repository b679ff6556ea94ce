import fs from 'node:fs/promises';
import path from 'node:path';
import { DuckDbSiteStore } from './duckdb.ts';
import { migrateSiteStore } from './migrations.ts';
import { PostgresSiteStore } from './postgres.ts';
import type { SiteStore } from './store.ts';

export const DUCKDB_FILE = 'omop.duckdb';

export interface OpenSiteStoreOptions {
  /** The site directory; the DuckDB file lives here. */
  dir: string;
  /** PostgreSQL URL (ITDA_SITE_STORE_URL); unset means DuckDB. */
  url?: string | undefined;
  cdmSchema?: string;
  /** Create the CDM tables when missing (false for an existing, read-only OMOP schema). */
  createCdm?: boolean;
  /** Run migrations (false for read-only access). */
  migrate?: boolean;
  readOnly?: boolean;
}

/** Opens the site's OMOP store and brings its schema up to date. */
export async function openSiteStore(options: OpenSiteStoreOptions): Promise<SiteStore> {
  const cdmSchema = options.cdmSchema ?? 'cdm';
  let store: SiteStore;
  if (options.url) store = await PostgresSiteStore.open(options.url, cdmSchema);
  else {
    await fs.mkdir(options.dir, { recursive: true });
    store = await DuckDbSiteStore.open(path.join(options.dir, DUCKDB_FILE), cdmSchema, {
      readOnly: options.readOnly ?? false,
    });
  }
  if (options.migrate ?? !options.readOnly) {
    try {
      await migrateSiteStore(store, { createCdm: options.createCdm ?? true });
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}
