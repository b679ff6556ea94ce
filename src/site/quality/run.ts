/**
 * Runs the DQD checks on a site store and summarises them as DQD does: violated rows,
 * percent, pass/fail against each check's threshold, "not applicable" where there is
 * nothing to check (an empty table, a concept never recorded), and tallies overall and
 * per Kahn context × category.
 *
 * Empty tables are found first (one EXISTS per table) and their checks answered without
 * reading them; the rest are answered by the batched queries of `checks.ts`, or — with
 * `strategy: 'one-by-one'` — each by its own SQL, the reference the batched answers must
 * equal.
 */

import { quoteIdent } from '../../omop/ddl.ts';
import { CDM_VERSION } from '../../omop/schema.ts';
import type { QualityCheckResult, QualityReport, QualityTally } from '../../protocol/reports.ts';
import type { SiteStore } from '../store/store.ts';
import { type CheckInstance, type PresentColumns, type PrimaryKeys, planChecks } from './checks.ts';
import { type DqdSpec, loadDqdSpec } from './spec.ts';

/** At most this many aggregates in one SELECT (PostgreSQL allows 1,664 target columns). */
const MAX_AGGREGATES = 600;

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

export interface QualityRunOptions {
  spec?: DqdSpec;
  onProgress?: (done: number, total: number) => void;
  now?: Date;
  /**
   * `batched` (default) answers the checks a few queries per table; `one-by-one` runs each
   * check's own straightforward SQL, as DQD does — slower, kept to show batching changes
   * no answer.
   */
  strategy?: 'batched' | 'one-by-one';
}

/** Runs the DQD checks on a site store (see the module comment). */
export async function runQualityChecks(
  store: SiteStore,
  options: QualityRunOptions = {},
): Promise<QualityReport> {
  const spec = options.spec ?? loadDqdSpec();
  const columns = await store.all<{ table_name: string; column_name: string; data_type: string }>(
    'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1',
    [store.cdmSchema],
  );
  const present: PresentColumns = new Map();
  for (const c of columns) {
    const table = c.table_name.toLowerCase();
    if (!present.has(table)) present.set(table, new Map());
    present.get(table)!.set(c.column_name.toLowerCase(), c.data_type);
  }
  // Only emptiness matters (checks on an empty table are not applicable), so look for one row.
  const tables = [...present.keys()];
  const nonEmpty = new Set<string>();
  for (let start = 0; start < tables.length; start += MAX_AGGREGATES) {
    const chunk = tables.slice(start, start + MAX_AGGREGATES);
    const [row] = await store.all<Record<string, unknown>>(
      `SELECT ${chunk
        .map((t, i) => `EXISTS (SELECT 1 FROM ${quoteIdent(store.cdmSchema)}.${quoteIdent(t)}) AS t${i}`)
        .join(', ')}`,
    );
    chunk.forEach((t, i) => {
      if (row![`t${i}`] === true || row![`t${i}`] === 1) nonEmpty.add(t);
    });
  }

  const keyColumns = await store.all<{ table_name: string; column_name: string }>(
    `SELECT tc.table_name, k.column_name FROM information_schema.table_constraints tc
       JOIN information_schema.key_column_usage k
         ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name
      WHERE tc.table_schema = $1 AND tc.constraint_type = 'PRIMARY KEY'`,
    [store.cdmSchema],
  );
  const primaryKeys: PrimaryKeys = new Map();
  const keyCount = new Map<string, number>();
  for (const k of keyColumns) {
    const table = k.table_name.toLowerCase();
    keyCount.set(table, (keyCount.get(table) ?? 0) + 1);
    primaryKeys.set(table, k.column_name.toLowerCase());
  }
  // Only a single-column key says that column alone is unique.
  for (const [table, n] of keyCount) if (n > 1) primaryKeys.delete(table);

  const plan = planChecks(spec, store.cdmSchema, present, primaryKeys);
  const { checks } = plan;
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
  const counted = (check: CheckInstance, v: number, d: number) => {
    if (d === 0 && !check.schemaCheck) {
      result(check, 'not_applicable', v, d, 'no records to evaluate');
    } else {
      const failed = d > 0 && (v / d) * 100 > check.thresholdPercent;
      result(check, failed ? 'failed' : 'passed', v, d, null);
    }
  };
  const failedQuery = (error: unknown) => (error as Error).message.split('\n')[0] || 'query failed';

  // Checks on an empty table are not applicable, answered without touching the table.
  const runnable: CheckInstance[] = [];
  for (const check of checks) {
    if (!check.schemaCheck && !nonEmpty.has(check.table)) {
      result(check, 'not_applicable', null, null, `table ${check.table} is empty`);
    } else runnable.push(check);
  }
  let done = checks.length - runnable.length;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, checks.length);
  };

  if (options.strategy === 'one-by-one') {
    for (const check of runnable) {
      try {
        const [row] = await store.all<{ v: unknown; d: unknown }>(check.alone);
        counted(check, Number(row!.v ?? 0), Number(row!.d ?? 0));
      } catch (error) {
        result(check, 'error', null, null, failedQuery(error));
      }
      progress(1);
    }
  } else {
    const byQuery = new Map<string, CheckInstance[]>();
    for (const check of runnable) {
      if (check.batched.kind === 'known') {
        counted(check, check.batched.violated, check.batched.denominator);
        progress(1);
      } else byQuery.set(check.batched.query, [...(byQuery.get(check.batched.query) ?? []), check]);
    }
    for (const query of plan.aggregates) {
      const pending = byQuery.get(query.key) ?? [];
      for (let start = 0; start < pending.length; start += MAX_AGGREGATES / 2) {
        const chunk = pending.slice(start, start + MAX_AGGREGATES / 2);
        // Checks often share an aggregate (every denominator `count(*)`): compute each once.
        const columns = new Map<string, string>();
        const column = (expression: string) => {
          if (!columns.has(expression)) columns.set(expression, `a${columns.size}`);
          return columns.get(expression)!;
        };
        const answers = chunk.map((c) =>
          c.batched.kind === 'aggregate'
            ? { v: column(c.batched.violated), d: column(c.batched.denominator) }
            : { v: column('0'), d: column('0') },
        );
        const select = [...columns].map(([expression, alias]) => `${expression} AS ${alias}`).join(', ');
        try {
          const [row] = await store.all<Record<string, number>>(
            `SELECT ${select}${query.from ? ` FROM ${query.from}` : ''}`,
          );
          chunk.forEach((check, i) => {
            counted(check, Number(row![answers[i]!.v] ?? 0), Number(row![answers[i]!.d] ?? 0));
          });
        } catch (error) {
          for (const check of chunk) result(check, 'error', null, null, failedQuery(error));
        }
        progress(chunk.length);
      }
    }
    for (const query of plan.grouped) {
      const pending = byQuery.get(query.key) ?? [];
      if (pending.length === 0) continue;
      try {
        const rows = await store.all(query.sql);
        for (const check of pending) {
          if (check.batched.kind !== 'grouped') continue;
          const { violated, denominator } = check.batched.count(rows);
          counted(check, violated, denominator);
        }
      } catch (error) {
        for (const check of pending) result(check, 'error', null, null, failedQuery(error));
      }
      progress(pending.length);
    }
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
