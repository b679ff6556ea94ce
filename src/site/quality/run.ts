/**
 * Runs the DQD checks on a site store and summarises them as DQD does: violated rows,
 * percent, pass/fail against each check's threshold, "not applicable" where there is
 * nothing to check (an empty table, a concept never recorded), and tallies overall and
 * per Kahn context × category.
 */

import { quoteIdent } from '../../omop/ddl.ts';
import { CDM_VERSION } from '../../omop/schema.ts';
import type { QualityCheckResult, QualityReport, QualityTally } from '../../protocol/reports.ts';
import type { SiteStore } from '../store/store.ts';
import { type CheckInstance, planChecks } from './checks.ts';
import { type DqdSpec, loadDqdSpec } from './spec.ts';

/** At most this many aggregates in one SELECT (PostgreSQL allows 1,664 target columns). */
const MAX_AGGREGATES = 600;
/** Checks that still apply to an empty table: they are about the schema itself. */
const SCHEMA_CHECKS = new Set(['cdmTable', 'cdmField']);

function tally(results: readonly QualityCheckResult[]): QualityTally {
  const count = (status: QualityCheckResult['status']) => results.filter((r) => r.status === status).length;
  const passed = count('passed');
  const failed = count('failed');
  return {
    run: results.length,
    passed,
    failed,
    notApplicable: count('not_applicable'),
    errors: count('error'),
    percentPassed: passed + failed === 0 ? null : Math.round((passed / (passed + failed)) * 10_000) / 100,
  };
}

export async function runQualityChecks(
  store: SiteStore,
  options: { spec?: DqdSpec; onProgress?: (done: number, total: number) => void; now?: Date } = {},
): Promise<QualityReport> {
  const spec = options.spec ?? loadDqdSpec();
  const columns = await store.all<{ table_name: string; column_name: string }>(
    'SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1',
    [store.cdmSchema],
  );
  const present = new Map<string, Set<string>>();
  for (const c of columns) {
    const table = c.table_name.toLowerCase();
    if (!present.has(table)) present.set(table, new Set());
    present.get(table)!.add(c.column_name.toLowerCase());
  }
  const rowCounts = new Map<string, number>();
  for (const table of present.keys()) {
    const [row] = await store.all<{ n: number }>(
      `SELECT count(*) AS n FROM ${quoteIdent(store.cdmSchema)}.${quoteIdent(table)}`,
    );
    rowCounts.set(table, row!.n);
  }

  const { checks, queries } = planChecks(spec, store.cdmSchema, present);
  const results = new Map<string, QualityCheckResult>();
  const result = (
    check: CheckInstance,
    status: QualityCheckResult['status'],
    v: number | null,
    d: number | null,
    note: string | null,
  ) => {
    const pct = v !== null && d ? v / d : v === 0 ? 0 : null;
    results.set(check.id, {
      checkName: check.description.checkName,
      checkLevel: check.description.checkLevel,
      cdmTableName: check.table,
      cdmFieldName: check.field,
      conceptId: check.conceptId,
      unitConceptId: check.unitConceptId,
      context: check.description.context,
      category: check.description.category,
      subcategory: check.description.subcategory,
      severity: check.description.severity,
      description: check.description.description,
      thresholdPercent: check.thresholdPercent,
      numViolatedRows: v,
      numDenominatorRows: d,
      pctViolatedRows: pct === null ? null : Math.round(pct * 1e6) / 1e6,
      status,
      note,
    });
  };

  const byQuery = new Map<string, CheckInstance[]>();
  for (const check of checks) byQuery.set(check.query, [...(byQuery.get(check.query) ?? []), check]);
  let done = 0;
  for (const query of queries) {
    const pending = byQuery.get(query.key) ?? [];
    const runnable: CheckInstance[] = [];
    for (const check of pending) {
      if (!SCHEMA_CHECKS.has(check.description.checkName) && (rowCounts.get(check.table) ?? 0) === 0) {
        result(check, 'not_applicable', null, null, `table ${check.table} is empty`);
      } else runnable.push(check);
    }
    for (let start = 0; start < runnable.length; start += MAX_AGGREGATES / 2) {
      const chunk = runnable.slice(start, start + MAX_AGGREGATES / 2);
      const select = chunk
        .flatMap((c, i) => [`${c.violated} AS v${i}`, `${c.denominator} AS d${i}`])
        .join(', ');
      try {
        const [row] = await store.all<Record<string, number>>(
          `SELECT ${select}${query.from ? ` FROM ${query.from}` : ''}`,
        );
        chunk.forEach((check, i) => {
          const v = Number(row![`v${i}`] ?? 0);
          const d = Number(row![`d${i}`] ?? 0);
          if (d === 0 && !SCHEMA_CHECKS.has(check.description.checkName)) {
            result(check, 'not_applicable', v, d, 'no records to evaluate');
          } else {
            const failed = d > 0 && (v / d) * 100 > check.thresholdPercent;
            result(check, failed ? 'failed' : 'passed', v, d, null);
          }
        });
      } catch (error) {
        const note = (error as Error).message.split('\n')[0] ?? 'query failed';
        for (const check of chunk) result(check, 'error', null, null, note);
      }
    }
    done += pending.length;
    options.onProgress?.(done, checks.length);
  }

  const all = checks.map((c) => results.get(c.id)!);
  const categories = new Map<string, QualityCheckResult[]>();
  for (const r of all) {
    const key = `${r.context}|${r.category}`;
    categories.set(key, [...(categories.get(key) ?? []), r]);
  }
  return {
    generatedAt: (options.now ?? new Date()).toISOString(),
    cdmVersion: CDM_VERSION,
    overall: tally(all),
    byCategory: [...categories.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([key, rows]) => {
        const [context, category] = key.split('|') as [
          QualityCheckResult['context'],
          QualityCheckResult['category'],
        ];
        return { context, category, ...tally(rows) };
      }),
    checks: all,
  };
}
