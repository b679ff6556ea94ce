/**
 * bench/quality: all DQD checks on a store of N generated patients, timed against one full
 * scan of every CDM table in the same run (ratio printed; target ≤ 15×).
 *
 *   npx tsx bench/quality.ts [N]       (default 10000)
 */
import fs from 'node:fs';
import { quoteIdent } from '../src/omop/ddl.ts';
import { cdmTables } from '../src/omop/schema.ts';
import { runQualityChecks } from '../src/site/quality/run.ts';
import { benchDir, hospitalExport, ingest, seconds, vocabularyStore } from './support.ts';

const patients = Number(process.argv[2] ?? 10_000);
const dir = benchDir('quality');
const exportDir = await hospitalExport(dir, patients);
const store = await vocabularyStore(dir);
await ingest(store, exportDir, dir);

// Baseline: every column of every CDM table read once.
let started = performance.now();
for (const table of cdmTables) {
  const columns = table.columns.map((c) => `count(${quoteIdent(c.name)})`).join(', ');
  await store.all(
    `SELECT count(*), ${columns} FROM ${quoteIdent(store.cdmSchema)}.${quoteIdent(table.name)}`,
  );
}
const scan = seconds(started);

started = performance.now();
const report = await runQualityChecks(store);
const checks = seconds(started);
await store.close();
fs.rmSync(dir, { recursive: true, force: true });

process.stdout.write(
  `N=${patients.toLocaleString('en')}: ${report.overall.run} checks in ${checks.toFixed(2)} s; one full scan of every CDM table ${scan.toFixed(2)} s; ` +
    `ratio ${(checks / scan).toFixed(1)}× (target ≤ 15×); ${report.overall.errors} errors\n`,
);
