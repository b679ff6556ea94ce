/**
 * bench/quality: all DQD checks on a store of N generated patients, timed against one full
 * scan of every CDM table of the same store in the same run (ratio printed; target ≤ 15×),
 * on DuckDB and, when it is reachable, PostgreSQL.
 *
 * Both sides are timed as the best of a few repeats, so that a busy machine's pauses do not
 * decide the ratio; on DuckDB, which runs in this process, the CPU time of both sides is
 * reported too.
 *
 *   npx tsx bench/quality.ts [N] [duckdb|postgres]     (default 10000, both dialects)
 */
import fs from 'node:fs';
import { quoteIdent } from '../src/omop/ddl.ts';
import { cdmTables } from '../src/omop/schema.ts';
import { runQualityChecks } from '../src/site/quality/run.ts';
import type { SiteStore } from '../src/site/store/store.ts';
import { createTempDatabase, postgresReachable } from '../test/support/postgres.ts';
import { benchDir, hospitalExport, ingest, vocabularyStore } from './support.ts';

const patients = Number(process.argv[2] ?? 10_000);
const only = process.argv[3];
const SCAN_REPEATS = 5;
const CHECK_REPEATS = 3;

interface Timing {
  seconds: number;
  cpuSeconds: number;
}

/** The best (least) wall time of `repeats` runs of `work`, with that run's CPU time. */
async function best(repeats: number, work: () => Promise<unknown>): Promise<Timing> {
  let fastest: Timing = { seconds: Number.POSITIVE_INFINITY, cpuSeconds: 0 };
  for (let i = 0; i < repeats; i++) {
    const cpu = process.cpuUsage();
    const started = performance.now();
    await work();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    if (seconds < fastest.seconds) fastest = { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
  }
  return fastest;
}

/** Baseline: every column of every CDM table read once. */
async function fullScan(store: SiteStore): Promise<void> {
  for (const table of cdmTables) {
    const columns = table.columns.map((c) => `count(${quoteIdent(c.name)})`).join(', ');
    await store.all(
      `SELECT count(*), ${columns} FROM ${quoteIdent(store.cdmSchema)}.${quoteIdent(table.name)}`,
    );
  }
}

async function measure(dialect: 'duckdb' | 'postgres', exportDir: string): Promise<void> {
  const dir = benchDir(`quality-${dialect}`);
  const db = dialect === 'postgres' ? await createTempDatabase('itda_bench') : undefined;
  const store = await vocabularyStore(dir, db?.url);
  try {
    await ingest(store, exportDir, dir);
    const scan = await best(SCAN_REPEATS, () => fullScan(store));
    let report: Awaited<ReturnType<typeof runQualityChecks>> | undefined;
    const checks = await best(CHECK_REPEATS, async () => {
      report = await runQualityChecks(store);
    });
    const cpu =
      dialect === 'duckdb'
        ? `; CPU ${checks.cpuSeconds.toFixed(2)} s against ${scan.cpuSeconds.toFixed(3)} s, ratio ${(checks.cpuSeconds / scan.cpuSeconds).toFixed(1)}×`
        : '';
    process.stdout.write(
      `${dialect} N=${patients.toLocaleString('en')}: ${report!.overall.run} checks in ${checks.seconds.toFixed(2)} s; ` +
        `one full scan of every CDM table ${scan.seconds.toFixed(3)} s; ratio ${(checks.seconds / scan.seconds).toFixed(1)}× ` +
        `(target ≤ 15×)${cpu}; ${report!.overall.errors} errors\n`,
    );
  } finally {
    await store.close();
    await db?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const dir = benchDir('quality');
try {
  const exportDir = await hospitalExport(dir, patients);
  if (only !== 'postgres') await measure('duckdb', exportDir);
  if (only !== 'duckdb') {
    if (await postgresReachable()) await measure('postgres', exportDir);
    else process.stdout.write('postgres: not reachable, leg skipped\n');
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
