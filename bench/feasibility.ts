/**
 * bench/feasibility: the Circe-compiled SQL of a realistic feasibility cohort (first
 * atrial fibrillation diagnosis, age ≥ 65 at it, no warfarin in the 90 days before) timed
 * against hand-written SQL for the same cohort in the same run, on DuckDB and on
 * PostgreSQL (target ratio ≤ 1.5). The Circe side is what a site runs for a feasibility
 * query: compile, then the count-only statements (size and attrition, nothing written);
 * the full run into the result tables (`itda cohort generate`) is reported beside it.
 * All must find the same persons with the same dates and attrition, or the bench fails.
 *
 * The store holds N people of the synthetic population written straight to OMOP rows
 * (bench/feasibility-data.ts) — the FHIR round trip would take most of an hour at
 * 100,000 on two cores and does not change what the cohort SQL reads.
 *
 * Then the hub's fan-out overhead: a hub and S in-process site nodes (demo network, small
 * DuckDB stores), the same cohort submitted over HTTP; time from submit to settled,
 * against the slowest site's own run time for that query (its reported `elapsedMs`).
 *
 *   npx tsx bench/feasibility.ts [--patients 100000] [--rounds 5] [--dialects duckdb,postgres] [--profile]
 *                                [--fanout-sites 10 (0 skips)] [--fanout-patients 200]
 */
import fs from 'node:fs';
import path from 'node:path';
import { startDemoNetwork } from '../src/cli/demo.ts';
import { cohortResultTablesDdl, compileCohort } from '../src/cohort/compile.ts';
import { type CohortGenerationSummary, countCompiledCohort, generateCohort } from '../src/cohort/generate.ts';
import {
  FEASIBILITY_PATHS,
  type FeasibilityQueryView,
  feasibilityQueryPath,
} from '../src/protocol/feasibility.ts';
import { loadVocabulary } from '../src/site/ingest/omop-csv.ts';
import type { SiteStore } from '../src/site/store/store.ts';
import { createTempDatabase, postgresReachable } from '../test/support/postgres.ts';
import { signIn } from '../test/support/session.ts';
import {
  afNoAnticoagulantCohort,
  handWrittenCohortSql,
  handWrittenCohortWithAttritionSql,
  loadSyntheticOmop,
} from './feasibility-data.ts';
import { benchDir, benchFlags, EUNOMIA, seconds, vocabularyStore } from './support.ts';

const flags = benchFlags(
  {
    patients: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '5' },
    dialects: { type: 'string', default: 'duckdb,postgres' },
    profile: { type: 'boolean', default: false },
    'fanout-sites': { type: 'string', default: '10' },
    'fanout-patients': { type: 'string', default: '200' },
  },
  'npx tsx bench/feasibility.ts [--patients 100000] [--rounds 5] [--dialects duckdb,postgres] [--profile] [--fanout-sites 10 (0 skips)] [--fanout-patients 200]',
);
const patients = Number(flags.patients);
const rounds = Number(flags.rounds);
if (!Number.isInteger(patients) || patients < 1)
  throw new Error(`--patients must be a positive whole number`);
if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive whole number`);
const dialects = flags.dialects.split(',').map((d) => d.trim());
for (const d of dialects)
  if (d !== 'duckdb' && d !== 'postgres') throw new Error(`--dialects: unknown dialect ${d}`);

const RESULTS = 'bench_results';
const COHORT_ID = 1;
const HAND_TABLE = 'hand_cohort';

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const compileOptions = (store: SiteStore) => ({
  dialect: store.kind,
  cdmSchema: store.cdmSchema,
  resultSchema: RESULTS,
  cohortId: COHORT_ID,
});

/** What a site runs for a feasibility query: compile, then count (nothing written). */
async function compiledCount(
  store: SiteStore,
): Promise<{ seconds: number; summary: CohortGenerationSummary }> {
  const started = performance.now();
  const summary = await countCompiledCohort(
    store,
    compileCohort(afNoAnticoagulantCohort(), compileOptions(store)),
  );
  return { seconds: seconds(started), summary };
}

/** The full Circe run (`itda cohort generate`): cohort rows and attrition in the result tables. */
async function compiled(store: SiteStore): Promise<{ seconds: number; summary: CohortGenerationSummary }> {
  const started = performance.now();
  const summary = await generateCohort(store, afNoAnticoagulantCohort(), compileOptions(store));
  return { seconds: seconds(started), summary };
}

/**
 * Hand-written cohort (`attrition`: with per-rule counts too) and its size; with
 * `compare`, also the number of cohort rows that differ from Circe's.
 */
async function handWritten(store: SiteStore, attrition: boolean, compare: boolean) {
  return store.transaction(async (tx) => {
    const started = performance.now();
    let rules: number[] = [];
    if (attrition) {
      const statements = handWrittenCohortWithAttritionSql(tx.cdmSchema, HAND_TABLE);
      for (const statement of statements.slice(0, -1)) await tx.run(statement);
      const [row] = await tx.all<{ base: number; rule_1: number; rule_2: number }>(statements.at(-1)!);
      rules = [Number(row?.base), Number(row?.rule_1), Number(row?.rule_2)];
    } else {
      for (const statement of handWrittenCohortSql(tx.cdmSchema, HAND_TABLE)) await tx.run(statement);
    }
    const [row] = await tx.all<{ n: number }>(`SELECT COUNT(DISTINCT subject_id) AS n FROM ${HAND_TABLE}`);
    const elapsed = seconds(started);
    let differing = 0;
    if (compare) {
      const circe = `SELECT subject_id, cohort_start_date, cohort_end_date FROM ${RESULTS}.cohort WHERE cohort_definition_id = ${COHORT_ID}`;
      const hand = `SELECT subject_id, cohort_start_date, cohort_end_date FROM ${HAND_TABLE}`;
      const [diff] = await tx.all<{ n: number }>(
        `SELECT (SELECT COUNT(*) FROM (${circe} EXCEPT ${hand}) a) + (SELECT COUNT(*) FROM (${hand} EXCEPT ${circe}) b) AS n`,
      );
      differing = Number(diff?.n ?? 0);
    }
    return { seconds: elapsed, persons: Number(row?.n ?? 0), differing, rules };
  });
}

/** Each compiled statement's time, slowest first (what to look at to close the gap). */
async function profile(store: SiteStore) {
  const compiledCohort = compileCohort(afNoAnticoagulantCohort(), compileOptions(store));
  const times: { ms: number; sql: string }[] = [];
  await store.transaction(async (tx) => {
    for (const statement of compiledCohort.statements) {
      const started = performance.now();
      await tx.run(statement);
      times.push({ ms: performance.now() - started, sql: statement.replace(/\s+/g, ' ').slice(0, 90) });
    }
  });
  return { statements: times.length, slowest: times.sort((a, b) => b.ms - a.ms).slice(0, 5) };
}

async function benchDialect(dialect: 'duckdb' | 'postgres') {
  const dir = benchDir('feasibility');
  let url: string | undefined;
  let drop = async () => {};
  if (dialect === 'postgres') {
    if (!(await postgresReachable())) throw new Error('PostgreSQL is not reachable; pass --dialects duckdb');
    const db = await createTempDatabase('itda_bench');
    url = db.url;
    drop = db.drop;
  }
  const store = await vocabularyStore(dir, url);
  try {
    const started = performance.now();
    const loaded = await loadSyntheticOmop(store, { patients });
    if (dialect === 'postgres') await store.run('ANALYZE');
    const loadSeconds = seconds(started);
    for (const statement of cohortResultTablesDdl(dialect, RESULTS)) await store.run(statement);

    // One untimed round warms caches for both, and checks that they agree.
    const first = await compiled(store);
    const firstCount = await compiledCount(store);
    const check = await handWritten(store, true, true);
    if (JSON.stringify(firstCount.summary) !== JSON.stringify(first.summary))
      throw new Error(
        `${dialect}: the count-only run reports ${JSON.stringify(firstCount.summary)}, the full run ${JSON.stringify(first.summary)}`,
      );
    const circeRules = [
      first.summary.baseCount,
      ...first.summary.inclusionRules.map((rule) => rule.remainingCount),
    ];
    if (
      first.summary.personCount !== check.persons ||
      check.differing !== 0 ||
      circeRules.join() !== check.rules.join()
    ) {
      throw new Error(
        `${dialect}: Circe found ${first.summary.personCount} persons (attrition ${circeRules.join(' → ')}), ` +
          `the hand-written SQL ${check.persons} (attrition ${check.rules.join(' → ')}); ${check.differing} cohort rows differ`,
      );
    }
    const times = {
      circe: [] as number[],
      circeGenerate: [] as number[],
      hand: [] as number[],
      handWithAttrition: [] as number[],
    };
    const runs: [keyof typeof times, () => Promise<{ seconds: number }>][] = [
      ['circe', () => compiledCount(store)],
      ['circeGenerate', () => compiled(store)],
      ['hand', () => handWritten(store, false, false)],
      ['handWithAttrition', () => handWritten(store, true, false)],
    ];
    for (let round = 0; round < rounds; round++) {
      // Rotate the order so none always runs on another's warm cache.
      for (let i = 0; i < runs.length; i++) {
        const [name, run] = runs[(i + round) % runs.length]!;
        times[name].push((await run()).seconds);
      }
    }
    return {
      dialect,
      loaded,
      loadSeconds,
      summary: first.summary,
      circe: median(times.circe),
      circeGenerate: median(times.circeGenerate),
      hand: median(times.hand),
      handWithAttrition: median(times.handWithAttrition),
      profile: flags.profile ? await profile(store) : undefined,
    };
  } finally {
    await store.close();
    await drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Submit → settled over HTTP on a hub with `siteCount` site nodes, against the slowest site's own time. */
async function fanOut(siteCount: number, sitePatients: number) {
  const dir = benchDir('feasibility-fanout');
  const network = await startDemoNetwork({
    dir,
    port: 0,
    sites: siteCount,
    patients: 0,
    buildWeb: false,
    logLevel: 'silent',
    pollWaitSeconds: 30,
  });
  try {
    let index = 0;
    for (const site of network.sites.values()) {
      await loadVocabulary(site.store, EUNOMIA, { quarantineDir: path.join(dir, 'quarantine') });
      await loadSyntheticOmop(site.store, { patients: sitePatients, seed: `fanout-${index++}` });
    }
    const researcher = await signIn(network.url, 'researcher@itda.demo');
    const query = async () => {
      const started = performance.now();
      const submitted = await researcher.json<FeasibilityQueryView>('POST', FEASIBILITY_PATHS.queries, {
        name: 'bench/feasibility fan-out',
        definition: afNoAnticoagulantCohort(),
      });
      if (submitted.status !== 202)
        throw new Error(`submit: ${submitted.status} ${JSON.stringify(submitted.body)}`);
      let view = submitted.body;
      while (view.status === 'running')
        view = (
          await researcher.json<FeasibilityQueryView>('GET', `${feasibilityQueryPath(view.id)}?wait=60`)
        ).body;
      const endToEnd = seconds(started);
      const answered = view.sites.filter((s) => s.status === 'answered' && s.answer);
      if (answered.length !== siteCount)
        throw new Error(`fan-out: ${answered.length} of ${siteCount} sites answered (${view.status})`);
      const slowestSite = Math.max(...answered.map((s) => s.answer!.elapsedMs)) / 1000;
      return { endToEnd, slowestSite };
    };
    await query(); // warm-up: first compile, first task on every connection
    const runs = [];
    for (let round = 0; round < rounds; round++) runs.push(await query());
    return {
      endToEnd: median(runs.map((r) => r.endToEnd)),
      slowestSite: median(runs.map((r) => r.slowestSite)),
    };
  } finally {
    await network.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
out(`bench/feasibility: N=${patients.toLocaleString('en')} synthetic patients, median of ${rounds} rounds`);
for (const dialect of dialects as ('duckdb' | 'postgres')[]) {
  const r = await benchDialect(dialect);
  const ratio = r.circe / r.hand;
  const ratioWithAttrition = r.circe / r.handWithAttrition;
  out(
    `${dialect}: loaded ${r.loaded.persons.toLocaleString('en')} persons, ${r.loaded.conditions.toLocaleString('en')} conditions, ` +
      `${r.loaded.drugs.toLocaleString('en')} drug exposures in ${r.loadSeconds.toFixed(1)} s`,
  );
  out(
    `${dialect}: AF entry ${r.summary.baseCount} persons → ${r.summary.inclusionRules.map((rule) => `${rule.name}: ${rule.remainingCount}`).join(' → ')}; ` +
      `cohort ${r.summary.personCount} persons (hand-written SQL: same rows, same attrition)`,
  );
  out(
    `${dialect}: Circe-compiled count (compile + run, as a site answers feasibility) ${(r.circe * 1000).toFixed(0)} ms, ` +
      `hand-written ${(r.hand * 1000).toFixed(0)} ms (with attrition ${(r.handWithAttrition * 1000).toFixed(0)} ms); ` +
      `ratio ${ratio.toFixed(2)}× (${ratioWithAttrition.toFixed(2)}× against the hand-written SQL with attrition; target ≤ 1.5×)${ratio > 1.5 ? '  ABOVE TARGET' : ''}`,
  );
  out(
    `${dialect}: full Circe run into the result tables (itda cohort generate) ${(r.circeGenerate * 1000).toFixed(0)} ms, ` +
      `${(r.circeGenerate / r.hand).toFixed(2)}× the hand-written SQL`,
  );
  if (r.profile) {
    out(`${dialect}: ${r.profile.statements} compiled statements; slowest:`);
    for (const s of r.profile.slowest) out(`  ${s.ms.toFixed(0).padStart(5)} ms  ${s.sql}`);
  }
}

const fanOutSites = Number(flags['fanout-sites']);
if (fanOutSites > 0) {
  const sitePatients = Number(flags['fanout-patients']);
  const r = await fanOut(fanOutSites, sitePatients);
  out(
    `fan-out: hub + ${fanOutSites} in-process sites (${sitePatients} persons each): submit → settled ${(r.endToEnd * 1000).toFixed(0)} ms, ` +
      `slowest site's own run ${(r.slowestSite * 1000).toFixed(0)} ms; hub overhead ${((r.endToEnd - r.slowestSite) * 1000).toFixed(0)} ms ` +
      `(${(r.endToEnd / r.slowestSite).toFixed(2)}× the slowest site)`,
  );
}
