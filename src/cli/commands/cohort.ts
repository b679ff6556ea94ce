/**
 * `itda cohort count|generate|sql`: OHDSI Circe cohort definitions run at the site, for
 * the steward — exact counts and rows, because nothing leaves the site here — or
 * compiled to SQL for DuckDB or PostgreSQL.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { cohortResultTablesDdl, compileCohort } from '../../cohort/compile.ts';
import type { CohortGenerationSummary } from '../../cohort/generate.ts';
import { ItdaError } from '../../protocol/errors.ts';
import { loadSiteStoreConfig } from '../../site/config.ts';
import { runCohortOnStore } from '../../site/feasibility/run-cohort.ts';
import { DUCKDB_FILE, openSiteStore } from '../../site/store/open.ts';
import type { SiteStore } from '../../site/store/store.ts';
import { action } from '../run.ts';
import { formatTable } from './store.ts';

interface SiteFlags {
  site: string;
  definition: string;
  cdmSchema?: string;
  json?: boolean;
}

/** Line and column (1-based) of a character offset in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/**
 * Reads a Circe definition file: a missing file and bad JSON (with line and column) are
 * clear errors naming the file.
 */
export async function readDefinitionFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ItdaError('not_found', `${file}: no such definition file`);
    throw new ItdaError('bad_request', `${file}: cannot read the definition (${code ?? String(error)})`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    const lineColumn = /line (\d+) column (\d+)/.exec(message);
    const where = lineColumn
      ? `line ${lineColumn[1]}, column ${lineColumn[2]}`
      : position
        ? (({ line, column }) => `line ${line}, column ${column}`)(lineAndColumn(text, Number(position[1])))
        : 'the end of the file';
    throw new ItdaError(
      'validation_failed',
      `${file}: not valid JSON at ${where}: ${message.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '')}`,
    );
  }
}

async function withSiteStore<T>(flags: SiteFlags, fn: (store: SiteStore) => Promise<T>): Promise<T> {
  const config = loadSiteStoreConfig();
  if (!config.storeUrl && !fs.existsSync(path.join(flags.site, DUCKDB_FILE)))
    throw new ItdaError(
      'not_found',
      `no site store in ${flags.site} (expected ${DUCKDB_FILE}; load data first)`,
    );
  // Read-write: the cohort runs in a scratch result schema that is dropped afterwards.
  const store = await openSiteStore({
    dir: flags.site,
    url: config.storeUrl,
    cdmSchema: flags.cdmSchema ?? config.cdmSchema,
    existingCdm: config.existingCdm,
    memoryLimit: config.memoryLimit,
    writeCdm: false,
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function summaryText(summary: CohortGenerationSummary): string {
  const lines = [
    `persons with an entry event: ${summary.baseCount}`,
    `persons in the cohort:       ${summary.finalCount}`,
    `cohort rows (eras):          ${summary.rowCount}`,
  ];
  if (summary.inclusionRules.length === 0) return `${lines.join('\n')}\n`;
  const rules = summary.inclusionRules.map((r) => ({
    rule: r.ruleSequence + 1,
    name: r.name,
    passing: r.personCount,
    'lost without it': r.gainCount,
    remaining: r.remainingCount,
  }));
  return `${lines.join('\n')}\n\nInclusion rules (best event per person):\n${formatTable(rules)}`;
}

function siteOptions(command: Command): Command {
  return command
    .requiredOption('--site <dir>', "the site's directory")
    .requiredOption('--definition <file>', 'a Circe cohort definition (JSON, as ATLAS exports it)')
    .option('--cdm-schema <schema>', 'schema of the CDM tables (ITDA_CDM_SCHEMA; default cdm)')
    .option('--json', 'print JSON');
}

export function registerCohortCommand(program: Command): Command {
  const cohort = program
    .command('cohort')
    .description('count, generate or compile OHDSI Circe cohort definitions (exact: runs at the site)');

  siteOptions(cohort.command('count'))
    .description('cohort size and inclusion-rule attrition on the site store (exact counts, for the steward)')
    .action(
      action(async (flags: SiteFlags) => {
        const definition = await readDefinitionFile(flags.definition);
        const { summary } = await withSiteStore(flags, (store) => runCohortOnStore(store, definition));
        process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : summaryText(summary));
      }),
    );

  siteOptions(cohort.command('generate'))
    .description('the cohort rows (subject_id, cohort_start_date, cohort_end_date) and inclusion-result rows')
    .action(
      action(async (flags: SiteFlags) => {
        const definition = await readDefinitionFile(flags.definition);
        const run = await withSiteStore(flags, (store) =>
          runCohortOnStore(store, definition, { withRows: true }),
        );
        const rows = run.rows ?? { cohort: [], inclusionResults: [] };
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ summary: run.summary, cohort: rows.cohort, inclusionResults: rows.inclusionResults }, null, 2)}\n`,
          );
          return;
        }
        process.stdout.write(
          `${formatTable(rows.cohort as unknown as Record<string, unknown>[])}\nInclusion results:\n${formatTable(rows.inclusionResults as unknown as Record<string, unknown>[])}`,
        );
      }),
    );

  cohort
    .command('sql')
    .description('the SQL a definition compiles to, with the result tables it fills')
    .requiredOption('--dialect <dialect>', 'duckdb or postgres')
    .requiredOption('--definition <file>', 'a Circe cohort definition (JSON)')
    .option('--cdm-schema <schema>', 'schema of the CDM tables', 'cdm')
    .option('--vocabulary-schema <schema>', 'schema of the vocabulary tables (default: the CDM schema)')
    .option('--result-schema <schema>', 'schema of the cohort and statistics tables', 'results')
    .option('--cohort-id <n>', 'cohort_definition_id of the rows', '1')
    .action(
      action(
        async (flags: {
          dialect: string;
          definition: string;
          cdmSchema: string;
          vocabularySchema?: string;
          resultSchema: string;
          cohortId: string;
        }) => {
          if (flags.dialect !== 'duckdb' && flags.dialect !== 'postgres')
            throw new ItdaError('validation_failed', `--dialect: duckdb or postgres, not "${flags.dialect}"`);
          const cohortId = Number(flags.cohortId);
          if (!Number.isSafeInteger(cohortId) || cohortId < 0)
            throw new ItdaError(
              'validation_failed',
              `--cohort-id: a whole number ≥ 0, not "${flags.cohortId}"`,
            );
          const definition = await readDefinitionFile(flags.definition);
          const compiled = compileCohort(definition, {
            dialect: flags.dialect,
            cdmSchema: flags.cdmSchema,
            ...(flags.vocabularySchema ? { vocabularySchema: flags.vocabularySchema } : {}),
            resultSchema: flags.resultSchema,
            cohortId,
          });
          const statements = [
            ...cohortResultTablesDdl(flags.dialect, flags.resultSchema),
            ...compiled.statements,
          ];
          process.stdout.write(
            `-- ${path.basename(flags.definition)} compiled for ${flags.dialect}; run on one connection, in order\n${statements.map((s) => `${s};\n`).join('\n')}`,
          );
        },
      ),
    );
  return cohort;
}
