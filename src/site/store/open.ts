import fs from 'node:fs/promises';
import path from 'node:path';
import { ItdaError } from '../../protocol/errors.ts';
import { DuckDbSiteStore } from './duckdb.ts';
import { migrateSiteStore } from './migrations.ts';
import { PostgresSiteStore } from './postgres.ts';
import type { SiteStore } from './store.ts';

export const DUCKDB_FILE = 'omop.duckdb';
export const DEFAULT_CDM_SCHEMA = 'cdm';

export interface OpenSiteStoreOptions {
  /** The site directory; the DuckDB file lives here (`DIR/omop.duckdb`). */
  dir: string;
  /** PostgreSQL URL (ITDA_SITE_STORE_URL); unset means DuckDB. */
  url?: string | undefined;
  /** Schema of the CDM tables; `cdm` by default. */
  cdmSchema?: string;
  /** Create the CDM tables when missing (false for an existing, read-only OMOP schema). */
  createCdm?: boolean;
  /** Run migrations (default: unless read-only). */
  migrate?: boolean;
  /** Open the DuckDB file read-only (no migrations). */
  readOnly?: boolean;
}

/**
 * Opens the site's OMOP store — PostgreSQL when `url` is given, else DuckDB at
 * `DIR/omop.duckdb` — and brings its schema up to date (`migrateSiteStore`). Throws
 * `ItdaError('unavailable')` naming the file or URL when the store cannot be opened.
 */
export async function openSiteStore(options: OpenSiteStoreOptions): Promise<SiteStore> {
  const cdmSchema = options.cdmSchema ?? DEFAULT_CDM_SCHEMA;
  // Site SQL names the schema unquoted (`cdm.person`), so it must be a plain identifier.
  if (!/^[a-z_][a-z0-9_]*$/.test(cdmSchema)) {
    throw new ItdaError(
      'validation_failed',
      `CDM schema "${cdmSchema}" must be a lower-case SQL identifier (letters, digits, _)`,
    );
  }
  let store: SiteStore;
  if (options.url) store = await PostgresSiteStore.open(options.url, cdmSchema);
  else {
    try {
      await fs.mkdir(options.dir, { recursive: true });
    } catch (error) {
      throw new ItdaError(
        'unavailable',
        `cannot create the site directory ${options.dir}: ${(error as Error).message}`,
      );
    }
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
