/**
 * An existing OMOP CDM in PostgreSQL, read-only: a throw-away database holds the Eunomia
 * CDM in schema `omop` and nothing of Itda's; Itda opens it as an existing CDM, runs the
 * quality checks, the profile, ad-hoc SQL and a cohort on it, refuses to ingest or load a
 * vocabulary into it, and leaves the schema's tables and row counts exactly as they were.
 * PostgreSQL only: an existing CDM is read from PostgreSQL by design (DuckDB is refused).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/support/hub.ts';
import { createTempDatabase, postgresReachable, type TempDatabase } from '../../../test/support/postgres.ts';
import { cohortResultTablesDdl } from '../../cohort/compile.ts';
import { generateCohort } from '../../cohort/generate.ts';
import { loadOmopCsv } from '../ingest/omop-csv.ts';
import { computeProfile } from '../profile/profile.ts';
import { runQualityChecks } from '../quality/run.ts';
import { isExistingCdm, openSiteStore } from './open.ts';
import { readOnlyQuery } from './read-only.ts';
import type { SiteStore } from './store.ts';

const DATA = path.resolve(import.meta.dirname, '../../../../shared/data');
const EUNOMIA = path.join(DATA, 'eunomia-synthea27nj-5.4');
const BIN = path.resolve(import.meta.dirname, '../../../bin/itda.js');
const SCHEMA = 'omop';

const available = await postgresReachable();

/** The tables of a schema and their row counts, read with a plain client (not through Itda). */
async function snapshot(url: string, schema: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of tables.rows) {
      const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table_name}"`);
      counts[table_name] = Number(r.rows[0]!.n);
    }
    return counts;
  } finally {
    await client.end();
  }
}

async function sql(url: string, statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function itda(args: string[], env: NodeJS.ProcessEnv) {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe.skipIf(!available)('an existing OMOP CDM in PostgreSQL', () => {
  let db: TempDatabase;
  let dir: string;
  let before: Record<string, number>;
  let store: SiteStore | undefined;

  beforeAll(async () => {
    db = await createTempDatabase('itda_existing');
    dir = await tempDir('itda-existing-');
    // Build the hospital's OMOP database: the Eunomia CSVs in schema omop, then remove every
    // trace of Itda so that the database looks like one another ETL made.
    const builder = await openSiteStore({ dir, url: db.url, cdmSchema: SCHEMA });
    await loadOmopCsv(builder, EUNOMIA, { quarantineDir: path.join(dir, 'build-quarantine') });
    await builder.close();
    await sql(db.url, `DROP SCHEMA itda CASCADE; DROP TABLE ${SCHEMA}.image_occurrence`);
    before = await snapshot(db.url, SCHEMA);
  }, 300_000);

  afterAll(async () => {
    await store?.close();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('was built with the Eunomia rows', () => {
    expect(before.person).toBe(28);
    expect(before.measurement).toBeGreaterThan(10_000);
    expect(before.concept).toBeGreaterThan(2000);
  });

  it('opens as an existing CDM, keeping Itda’s own tables in schema itda', async () => {
    store = await openSiteStore({ dir, url: db.url, cdmSchema: SCHEMA, existingCdm: true });
    expect(isExistingCdm(store)).toBe(true);
    const itdaTables = (
      await store.all<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'itda' ORDER BY 1",
      )
    ).map((r) => r.table_name);
    expect(itdaTables).toEqual(
      expect.arrayContaining(['migration', 'site_meta', 'id_map', 'image_occurrence']),
    );
  });

  it('runs the quality checks, the profile, read-only SQL and a cohort on it', async () => {
    const report = await runQualityChecks(store!);
    expect(report.overall.run).toBeGreaterThan(100);
    expect(report.overall.errors).toBe(0);
    const profile = await computeProfile(store!);
    const persons = profile.analyses.find((a) => a.analysisId === 1);
    expect(persons?.rows[0]?.count).toBe(28);
    expect(await readOnlyQuery(store!, `SELECT count(*) AS n FROM ${SCHEMA}.person`)).toEqual([{ n: 28 }]);
    await expect(readOnlyQuery(store!, `DELETE FROM ${SCHEMA}.person`)).rejects.toMatchObject({
      code: 'forbidden',
    });
    // Circe cohort results go to a scratch schema, never to the CDM schema.
    const scratch = 'itda_cohort_scratch';
    for (const statement of cohortResultTablesDdl('postgres', scratch)) await store!.run(statement);
    const inpatient = JSON.parse(fs.readFileSync(path.join(DATA, 'phenotype-library', '23.json'), 'utf8'));
    const summary = await generateCohort(store!, inpatient, {
      dialect: 'postgres',
      cdmSchema: SCHEMA,
      resultSchema: scratch,
      cohortId: 1,
    });
    const [visits] = await store!.all<{ n: number }>(
      `SELECT count(DISTINCT person_id) AS n FROM ${SCHEMA}.visit_occurrence WHERE visit_concept_id IN (9201, 262)`,
    );
    expect(summary.finalCount).toBeGreaterThan(0);
    expect(summary.finalCount).toBeLessThanOrEqual(visits!.n);
    await store!.run(`DROP SCHEMA ${scratch} CASCADE`);
  });

  it('refuses an ingest or a vocabulary load, also from the CLI and when the flag is forgotten', async () => {
    await expect(
      openSiteStore({ dir, url: db.url, cdmSchema: SCHEMA, existingCdm: true, writeCdm: true }),
    ).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/only reads/) });
    // The first open recorded it: without the flag the schema is still an existing CDM.
    const again = await openSiteStore({ dir, url: db.url, cdmSchema: SCHEMA });
    expect(isExistingCdm(again)).toBe(true);
    await again.close();
    await expect(
      openSiteStore({ dir, url: db.url, cdmSchema: SCHEMA, writeCdm: true }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    });

    const env = { ITDA_SITE_STORE_URL: db.url };
    const bundle = path.join(
      DATA,
      'synthea-r4-bundles',
      fs.readdirSync(path.join(DATA, 'synthea-r4-bundles'))[0]!,
    );
    const ingest = itda(['ingest', '--site', dir, '--cdm-schema', SCHEMA, '--existing-cdm', bundle], env);
    expect(ingest.code).not.toBe(0);
    expect(ingest.stderr).toMatch(/existing OMOP CDM that Itda only reads/);
    const vocab = itda(['vocab', 'load', '--site', dir, '--cdm-schema', SCHEMA, EUNOMIA], env);
    expect(vocab.code).not.toBe(0);
    expect(vocab.stderr).toMatch(/only reads/);
    const query = itda(
      [
        'site',
        'sql',
        '--site',
        dir,
        '--cdm-schema',
        SCHEMA,
        '--json',
        `SELECT count(*) AS n FROM ${SCHEMA}.person`,
      ],
      env,
    );
    expect(query.stderr).toBe('');
    expect(JSON.parse(query.stdout)).toEqual([{ n: 28 }]);
  }, 300_000);

  it('leaves the CDM schema exactly as it was: the same tables, the same row counts', async () => {
    expect(await snapshot(db.url, SCHEMA)).toEqual(before);
  });

  it('names the required tables a schema lacks, and refuses DuckDB', async () => {
    await sql(db.url, 'CREATE SCHEMA partial; CREATE TABLE partial.person (person_id BIGINT)');
    await expect(
      openSiteStore({ dir, url: db.url, cdmSchema: 'partial', existingCdm: true }),
    ).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(
        /lacks required tables: observation_period, visit_occurrence.*concept_ancestor/,
      ),
    });
    await expect(
      openSiteStore({ dir, url: db.url, cdmSchema: 'nothing_here', existingCdm: true }),
    ).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/no CDM tables in schema "nothing_here"/),
    });
    await expect(openSiteStore({ dir, existingCdm: true })).rejects.toMatchObject({
      code: 'validation_failed',
      message: expect.stringMatching(/PostgreSQL/),
    });
    expect(fs.existsSync(path.join(dir, 'omop.duckdb'))).toBe(false);
  });
});
