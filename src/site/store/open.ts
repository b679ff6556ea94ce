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
  /**
   * Most memory DuckDB may use (ITDA_SITE_MEMORY_LIMIT, e.g. `2GB`): it keeps the blocks it
   * has read or written cached up to this, by default 80 % of RAM. Unused on PostgreSQL.
   */
  memoryLimit?: string | undefined;
  /**
   * The CDM tables are an existing OMOP database that Itda only reads (PostgreSQL): no CDM
   * DDL, required tables checked, remembered in `itda.site_meta` for later opens.
   */
  existingCdm?: boolean;
  /** The caller will write CDM tables (ingest, vocabulary load): refused on an existing CDM. */
  writeCdm?: boolean;
}

/**
 * The CDM v5.4 tables an existing OMOP database must have for quality checks, the profile
 * and cohorts; the other CDM tables are read when present.
 */
export const REQUIRED_EXISTING_CDM_TABLES = [
  'person',
  'observation_period',
  'visit_occurrence',
  'condition_occurrence',
  'drug_exposure',
  'procedure_occurrence',
  'measurement',
  'observation',
  'death',
  'concept',
  'concept_relationship',
  'concept_ancestor',
] as const;

/** Key in `itda.site_meta` that marks a CDM schema as an existing, read-only database. */
const EXISTING_CDM_KEY = (schema: string) => `existing_cdm.${schema}`;

/** Stores opened on an existing CDM, so callers can ask without another query. */
const existingStores = new WeakSet<SiteStore>();

/** Whether this store's CDM tables are an existing OMOP database that Itda must not write. */
export function isExistingCdm(store: SiteStore): boolean {
  return existingStores.has(store);
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
  if (options.existingCdm && !options.url) throw existingNeedsPostgres();
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
      memoryLimit: options.memoryLimit,
    });
  }
  try {
    const existing = options.existingCdm === true || (await markedExisting(store));
    if (existing) {
      await checkExistingCdm(store, options);
      existingStores.add(store);
    }
    if (options.migrate ?? !options.readOnly) {
      if (existing) {
        // Itda's own tables, the imaging extension included, go to `itda`: nothing is created in the CDM schema.
        await migrateSiteStore(withCdmSchema(store, 'itda'), { createCdm: false });
        await store.run(
          'INSERT INTO itda.site_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING',
          [EXISTING_CDM_KEY(cdmSchema), 'read-only'],
        );
      } else await migrateSiteStore(store, { createCdm: options.createCdm ?? true });
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function existingNeedsPostgres(): ItdaError {
  return new ItdaError(
    'validation_failed',
    'an existing OMOP CDM is read from PostgreSQL: set ITDA_SITE_STORE_URL (and --cdm-schema) to use one',
  );
}

/** Whether an earlier open recorded this CDM schema as an existing database (PostgreSQL only). */
async function markedExisting(store: SiteStore): Promise<boolean> {
  if (store.kind !== 'postgres') return false;
  const [table] = await store.all(
    "SELECT 1 AS found FROM information_schema.tables WHERE table_schema = 'itda' AND table_name = 'site_meta'",
  );
  if (!table) return false;
  const [mark] = await store.all('SELECT value FROM itda.site_meta WHERE key = $1', [
    EXISTING_CDM_KEY(store.cdmSchema),
  ]);
  return mark !== undefined;
}

/**
 * An existing CDM is read from PostgreSQL, has the required tables, and is never the target
 * of an ingest or vocabulary load; each failure names what is wrong.
 */
async function checkExistingCdm(store: SiteStore, options: OpenSiteStoreOptions): Promise<void> {
  if (store.kind !== 'postgres') throw existingNeedsPostgres();
  const found = new Set(
    (
      await store.all<{ table_name: string }>(
        'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
        [store.cdmSchema],
      )
    ).map((r) => r.table_name),
  );
  if (found.size === 0) {
    throw new ItdaError(
      'not_found',
      `no CDM tables in schema "${store.cdmSchema}" of ${store.location}: is --cdm-schema (ITDA_CDM_SCHEMA) right?`,
    );
  }
  const missing = REQUIRED_EXISTING_CDM_TABLES.filter((t) => !found.has(t));
  if (missing.length) {
    throw new ItdaError(
      'not_found',
      `the existing OMOP CDM in schema "${store.cdmSchema}" of ${store.location} lacks required tables: ${missing.join(', ')}`,
    );
  }
  if (options.writeCdm) {
    throw new ItdaError(
      'forbidden',
      `schema "${store.cdmSchema}" of ${store.location} is an existing OMOP CDM that Itda only reads: ` +
        'ingest and vocabulary loads into it are refused (load into a store of its own instead)',
    );
  }
}

/**
 * The same store with another CDM schema name, for migrations that create their tables in
 * `store.cdmSchema`: on an existing CDM they are pointed at `itda`. Transactions opened
 * through it hand out handles with the same name.
 */
function withCdmSchema(store: SiteStore, cdmSchema: string): SiteStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'cdmSchema') return cdmSchema;
      if (property === 'transaction') {
        return <T>(fn: (tx: SiteStore) => Promise<T>) =>
          target.transaction((tx) => fn(withCdmSchema(tx, cdmSchema)));
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
