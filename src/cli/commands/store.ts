/**
 * Commands that work on a site's OMOP store directly: `vocab load`, `ingest`, `site sql`.
 * DuckDB allows one writer: stop the site node (or the demo) before writing to its store.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ItdaError } from '../../protocol/errors.ts';
import { loadSiteDisclosure, loadSiteStoreConfig } from '../../site/config.ts';
import { ingestFhir } from '../../site/ingest/fhir-ingest.ts';
import { type DirectoryLoadResult, loadOmopCsv, loadVocabulary } from '../../site/ingest/omop-csv.ts';
import { computeProfile } from '../../site/profile/profile.ts';
import { qualityReportHtml } from '../../site/quality/html.ts';
import { runQualityChecks } from '../../site/quality/run.ts';
import { DUCKDB_FILE, openSiteStore } from '../../site/store/open.ts';
import { readOnlyQuery } from '../../site/store/read-only.ts';
import type { SiteStore } from '../../site/store/store.ts';
import { createProgress } from '../progress.ts';
import { action } from '../run.ts';

/** Flags every store command takes: where the site is, and which CDM schema it reads. */
interface StoreFlags {
  site: string;
  cdmSchema?: string;
  existingCdm?: boolean;
}

function storeOptions(command: Command): Command {
  return command
    .requiredOption('--site <dir>', "the site's directory")
    .option('--cdm-schema <schema>', 'schema of the CDM tables (ITDA_CDM_SCHEMA; default cdm)')
    .option(
      '--existing-cdm',
      'the CDM schema is an existing OMOP database (PostgreSQL) that Itda only reads (ITDA_SITE_EXISTING_CDM)',
    );
}

/** Opens the store for reading, or for writing CDM tables (refused on an existing CDM). */
async function withStore<T>(
  flags: StoreFlags,
  mode: 'read' | 'write',
  fn: (store: SiteStore) => Promise<T>,
): Promise<T> {
  const dir = flags.site;
  const config = loadSiteStoreConfig();
  const readOnly = mode === 'read';
  if (readOnly && !config.storeUrl && !fs.existsSync(path.join(dir, DUCKDB_FILE))) {
    throw new ItdaError(
      'not_found',
      `no site store in ${dir} (expected ${DUCKDB_FILE}; run the site or load data first)`,
    );
  }
  const store = await openSiteStore({
    dir,
    url: config.storeUrl,
    cdmSchema: flags.cdmSchema ?? config.cdmSchema,
    existingCdm: flags.existingCdm ?? config.existingCdm,
    readOnly,
    memoryLimit: config.memoryLimit,
    writeCdm: !readOnly,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Prints rows as an aligned text table. */
export function formatTable(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '(no rows)\n';
  const columns = Object.keys(rows[0]!);
  const cell = (v: unknown) =>
    v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n')}\n`;
}

function printLoad(result: DirectoryLoadResult, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    formatTable(
      result.tables.map((t) => ({
        table: t.table,
        file: path.basename(t.file),
        'rows read': t.rowsRead,
        'rows added': t.rowsAdded,
        quarantined: t.quarantined,
      })),
    ),
  );
  for (const f of result.failed) process.stdout.write(`refused ${f.file}: ${f.reason}\n`);
  if (result.ignoredFiles.length)
    process.stdout.write(`not a CDM table, ignored: ${result.ignoredFiles.join(', ')}\n`);
  process.stdout.write(
    `${result.quarantined} rows quarantined${result.quarantined ? ' (see quarantine/)' : ''}\n`,
  );
}

function bytesProgress(label: string) {
  const progress = createProgress(label, 0, 'bytes');
  return {
    onProgress: (done: number, total: number) => {
      progress.setTotal(total);
      progress.update(done);
    },
    stop: () => progress.stop(),
  };
}

export function registerStoreCommands(program: Command, site: Command): void {
  const vocab = program.command('vocab').description('OMOP vocabularies in the site store');
  storeOptions(vocab.command('load'))
    .description("load vocabulary tables (Athena's download, or the CSV layout of an OMOP export) in bulk")
    .option('--json', 'print the result as JSON')
    .argument('<vocabdir>', 'folder with CONCEPT.csv, CONCEPT_RELATIONSHIP.csv, …')
    .action(
      action(async (vocabDir: string, options: StoreFlags & { json?: boolean }) => {
        const progress = bytesProgress('vocab');
        const result = await withStore(options, 'write', (store) =>
          loadVocabulary(store, vocabDir, {
            quarantineDir: path.join(options.site, 'quarantine'),
            onProgress: progress.onProgress,
          }),
        ).finally(progress.stop);
        printLoad(result, options.json ?? false);
      }),
    );

  storeOptions(program.command('ingest'))
    .description(
      'load FHIR R4 files (Bulk NDJSON, .ndjson.gz, Bundles; files or folders) or an OMOP CSV set into a site store',
    )
    .option('--omop-csv <dir>', 'an existing OMOP CDM v5.4 CSV set, loaded as it is (vocabulary included)')
    .option('--json', 'print the result as JSON')
    .argument('[paths...]', 'FHIR R4 NDJSON files, Bundles or folders')
    .action(
      action(async (paths: string[], options: StoreFlags & { omopCsv?: string; json?: boolean }) => {
        const quarantineDir = path.join(options.site, 'quarantine');
        if (options.omopCsv) {
          const progress = bytesProgress('ingest');
          const result = await withStore(options, 'write', (store) =>
            loadOmopCsv(store, options.omopCsv!, { quarantineDir, onProgress: progress.onProgress }),
          ).finally(progress.stop);
          printLoad(result, options.json ?? false);
          return;
        }
        if (paths.length === 0)
          throw new ItdaError(
            'validation_failed',
            'nothing to ingest: give FHIR files or folders, or --omop-csv DIR',
          );
        const progress = createProgress('ingest', 0, 'resources');
        const summary = await withStore(options, 'write', (store) =>
          ingestFhir(store, paths, { quarantineDir, onProgress: (n) => progress.update(n) }),
        ).finally(() => progress.stop());
        if (options.json) {
          process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
          return;
        }
        for (const file of summary.undoneFiles) {
          process.stdout.write(
            `${file}: an interrupted run had written part of it; removed and ingested again\n`,
          );
        }
        process.stdout.write(
          `${summary.resources.toLocaleString('en')} resources from ${summary.files - summary.skippedFiles} files` +
            `${summary.skippedFiles ? ` (${summary.skippedFiles} already ingested, skipped)` : ''}; ` +
            `${summary.rowsWritten.toLocaleString('en')} rows written; ${summary.quarantined} quarantined${summary.quarantined ? ' (see quarantine/)' : ''}\n\n`,
        );
        process.stdout.write(
          formatTable(
            summary.report.tables.map((t) => ({
              table: t.table,
              rows: t.rows,
              '% mapped': t.percentMapped ?? '',
            })),
          ),
        );
        if (summary.report.topUnmapped.length) {
          process.stdout.write(
            '\nMost frequent unmapped codes (map them, or load the vocabulary that has them):\n',
          );
          process.stdout.write(
            formatTable(
              summary.report.topUnmapped.slice(0, 15).map((u) => ({
                table: u.table,
                system: u.system ?? '',
                code: u.code ?? '',
                display: (u.display ?? '').slice(0, 40),
                count: u.count,
              })),
            ),
          );
        }
      }),
    );

  storeOptions(site.command('check'))
    .description('run the OHDSI Data Quality Dashboard checks on the site store')
    .option('--json', 'print the whole report as JSON')
    .option('--html <file>', 'also write the report as an HTML page')
    .action(
      action(async (options: StoreFlags & { json?: boolean; html?: string }) => {
        const progress = createProgress('checks', 0, 'checks');
        const report = await withStore(options, 'read', (store) =>
          runQualityChecks(store, {
            onProgress: (done, total) => {
              progress.setTotal(total);
              progress.update(done);
            },
          }),
        ).finally(() => progress.stop());
        if (options.html)
          fs.writeFileSync(
            options.html,
            qualityReportHtml(report, `Data quality · ${path.basename(path.resolve(options.site))}`),
          );
        if (options.json) {
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
          return;
        }
        const o = report.overall;
        process.stdout.write(
          formatTable(
            report.byCategory.map((c) => ({
              context: c.context,
              category: c.category,
              passed: c.passed,
              failed: c.failed,
              'not applicable': c.notApplicable,
              '% passed': c.percentPassed ?? '',
            })),
          ),
        );
        process.stdout.write(
          `\n${o.run} checks: ${o.passed} passed, ${o.failed} failed, ${o.notApplicable} not applicable, ${o.errors} errors — ${o.percentPassed ?? '–'} % passed\n`,
        );
        const failing = report.checks.filter((c) => c.status === 'failed').slice(0, 20);
        if (failing.length) {
          process.stdout.write('\nFailing checks (first 20; --json or --html for all):\n');
          process.stdout.write(
            formatTable(
              failing.map((c) => ({
                check: c.checkName,
                table: c.cdmTableName,
                field: c.cdmFieldName ?? '',
                concept: c.conceptId ?? '',
                violated: c.numViolatedRows,
                '% violated': c.pctViolatedRows === null ? '' : (c.pctViolatedRows * 100).toFixed(2),
                'threshold %': c.thresholdPercent,
              })),
            ),
          );
        }
      }),
    );

  storeOptions(site.command('profile'))
    .description('an Achilles-style profile of the site store (counts from 1 to 9 shown as "<10")')
    .option('--json', 'print the whole profile as JSON')
    .action(
      action(async (options: StoreFlags & { json?: boolean }) => {
        const profile = await withStore(options, 'read', (store) =>
          computeProfile(store, { disclosure: loadSiteDisclosure() }),
        );
        if (options.json) {
          process.stdout.write(`${JSON.stringify(profile, null, 2)}\n`);
          return;
        }
        for (const id of [1, 2, 3, 201, 401, 701, 1801]) {
          const analysis = profile.analyses.find((a) => a.analysisId === id);
          if (!analysis) continue;
          process.stdout.write(`\n${analysis.analysisId} ${analysis.name}\n`);
          process.stdout.write(
            formatTable(
              analysis.rows.slice(0, 10).map((r) => ({
                ...Object.fromEntries(analysis.stratumNames.map((n, i) => [n, r.strata[i]])),
                count: r.count,
              })),
            ),
          );
        }
      }),
    );

  storeOptions(site.command('sql'))
    .description('run a read-only SQL query on the site store (writes are refused)')
    .option('--json', 'print rows as JSON')
    .argument('<sql>', 'the query, e.g. "SELECT count(*) FROM cdm.person"')
    .action(
      action(async (sql: string, options: StoreFlags & { json?: boolean }) => {
        const rows = await withStore(options, 'read', (store) => readOnlyQuery(store, sql));
        process.stdout.write(options.json ? `${JSON.stringify(rows)}\n` : formatTable(rows));
      }),
    );
}
