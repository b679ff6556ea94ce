/**
 * bench/ingest: FHIR → OMOP ingest speed, as a ratio to JSON.parse of the same bytes in the
 * same run (target: ingest ≥ 30 % of parse-only speed on DuckDB at N), the PostgreSQL store
 * beside it, and peak memory at N/4, N and 2N. Memory is flat once its bounded caches are
 * full (the id cache's 200,000 keys, DuckDB's 96 MiB while it ingests): the target is 2N
 * within 1.15× of N; N against N/4 is printed beside it, the caches filling.
 *
 *   npx tsx bench/ingest.ts [N]        (default 10000 generated patients)
 *
 * The input (export and vocabulary store) is made in a process of its own, and each
 * measurement runs in a fresh one: generating 10,000 patients in the measuring process weighed
 * on the ingest's speed and its peak memory. Each size runs three times and the medians are
 * compared; each run's JSON.parse baseline is itself the median of three passes (one before
 * the ingest, two after). Single runs on a shared machine varied by a sixth in ingest speed
 * and by 40 MB in peak memory.
 *
 * Measured on 2 cores, N=10,000 (836,072 resources), three full benches of three runs a size
 * on a shared machine where JSON.parse ran at 175,000–225,000 resources/s. The first: DuckDB
 * 66,967/s, 32.8 % of parse-only speed by wall time, 19.8 % by CPU time; PostgreSQL 27.4 %;
 * peak memory 532 MB against 441 MB at N=2,500, 1.20×. The second, after parts were
 * checkpointed: DuckDB 65,373/s (single runs 49,252–74,678), 29.0 %, 19.5 % by CPU time;
 * PostgreSQL 24.0 %; 544 MB against 435 MB, 1.25×. The third, with the store checkpointing
 * after every bulk load: DuckDB 56,047/s, 32.1 %, 19.6 %; PostgreSQL 26.3 %; 532 MB against
 * 438 MB, 1.22×. An earlier quiet machine (JSON.parse about 355,000/s), five single runs:
 * DuckDB 102,575–108,537/s, 28.4–29.9 %; PostgreSQL 23.5–25 %; memory 1.15–1.24×. Compare
 * ratios, not rates.
 *
 * Latest, three full benches on a shared machine (JSON.parse at 109,000–154,000 resources/s):
 * DuckDB at N=10,000 38,249/s, 38,284/s and 39,513/s, 32.3 %, 29.6 % and 32.9 % of
 * parse-only speed (three benches earlier the same day, before or between these changes:
 * 29.6 %, 29.4 %, 30.8 %); peak memory 424 / 484 / 524 MB, 425 / 517 / 550 MB and
 * 424 / 489 / 551 MB at N=2,500 / 10,000 / 20,000: 2N against N 1.08×, 1.06× and 1.13×, N
 * against N/4 1.14×, 1.22× and 1.15×; PostgreSQL 30.0 %, 24.4 % and 25.5 %. At N=20,000 the
 * ingest runs at 81–93 % of its rate at 10,000: past the id cache's size, each batch that
 * references evicted keys joins them against the whole `itda.id_map` (about 50 ms at 2.3
 * million keys; an ART index on a 64-bit hash of the key was no faster for a batch's 1,000
 * keys, and its checkpoints grew with it, 97 → 845 ms over 2.3 million keys).
 * What made memory flat: DuckDB keeps every block it writes cached up to its memory limit (80 %
 * of RAM), so the ingest holds it to 96 MiB (N=20,000 peaked at 592 MB before, 511–526 MB
 * after, at the same speed); a file commits every 125,000 resources, not 250,000 (DuckDB held
 * up to 80 MB of a part's uncommitted rows, now about 55 MB); the mapping thread and the id cache
 * are let go before the observation periods and eras are rebuilt. Tried and left out: reading
 * ahead in `itda.id_map` by id after a miss, so a smaller cache would do (references come in
 * another order than the ids were given: many more lookups, twice as slow); DuckDB's allocator
 * settings (`allocator_flush_threshold`, background threads: no change).
 *
 * Where the memory grew before the 96 MiB limit (N=10,000 against 2,500, sampled at the peak,
 * which came as the 600,000 observations' file committed its last part): the main thread's heap is 89–108 MB
 * against 50–53 MB, as the id cache fills up (with no cache it stayed at 50 MB, but every
 * reference then went to the store); DuckDB's own memory is 75–82 MB against 47 MB, most of
 * it the blocks of the tables just written, which DuckDB keeps cached up to its memory
 * limit (`ITDA_SITE_MEMORY_LIMIT`; by default 80 % of RAM). The id cache is bounded
 * (200,000 keys) but fills only past N=10,000. Past it the growth slows: N=20,000 peaks at
 * 569–634 MB, since each committed part is checkpointed at once (DuckDB had waited for its
 * log to pass 16 MB, once for 900,000 resources, and that checkpoint took the process from
 * 565 to 720 MB). The era rebuild at the end reads condition and drug rows in chunks of
 * about 10,000 rows (in chunks of 2,000 persons it had grown the heap to 114 MB at
 * N=20,000; 60 MB now).
 *
 * What changed over the quiet machine's day (each measured alone, the ingest alone at
 * N=10,000, from 9 s to 7.8 s): the DuckDB store remembers each table's columns between
 * appends (looking them up took 1.7 s of 9 s: 3 ms per append); the NDJSON reader splits
 * lines on bytes and decodes an ASCII chunk as Latin-1 (a third of the decoding, and
 * JSON.parse is faster on the one-byte strings: 9.0 → 8.25 s); a line is parsed only when
 * the mapping thread takes it, so one parsed resource lives at a time rather than a chunk's
 * worth (the thread's GC 1.4 → 0.9 s);
 * the thread's vocabulary questions are answered as they arrive instead of after the
 * batches queued before them, files are hashed a few ahead so small files between large
 * ones no longer stall the thread, and four batches are mapped ahead (8.8 → 8.3 s); a file
 * commits every 250,000 resources rather than 100,000 (a checkpoint costs about 150 ms; peak
 * memory unchanged: 8.3 → 7.8 s).
 *
 * Earlier: a file commits in parts (DuckDB held a file's uncommitted rows in memory: 160 MB
 * for the 600,000 observations); the mapping thread reads about 1 MB of lines per step,
 * maps a resource before checking that its codes are answered (the walk over it runs only
 * on a miss), encodes each row into columns as it is mapped and counts it in the report at
 * once, and reuses recently parsed dates.
 *
 * Where the time goes (N=10,000, profiled): the mapping thread is busy about 6.5 s of 7.8:
 * JSON.parse 1.9 s, GC 0.9 s, placeholder ids 0.4 s, column encoding 0.4 s, the mappers
 * the rest; it waits about 0.5 s for room in the queue, 0.3 s for vocabulary answers and
 * 0.3 s for the eras at the end. The main thread is busy about 5.7 s: 3 s in DuckDB's
 * appender (a native call per value, and the flush), 0.8 s resolving ids and building
 * rows; it waits about 1 s for commits and 1.8 s for batches. The first batch arrives
 * after 0.4 s (thread start, unoptimized code). 30 % needs the run at about 7.5 s.
 *
 * Tried and kept out: two mapping threads (each reading the file, mapping every other
 * batch): 10 % slower on two cores, where the threads take CPU from the writing one;
 * asking for a batch's codes at its first miss, and finishing a batch while the next is
 * read: no measurable gain; a 96 MB young generation for the mapping thread (0.2 s less
 * GC, more memory, no wall-time gain); batches of 10,000 (no gain) or 2,500 (slower);
 * DuckDB `threads=1`; a larger id cache (no gain), a smaller one (slower, no less memory);
 * the id cache as an open-addressing table in typed arrays, off the heap (main heap about
 * 10 MB smaller at the peak, peak RSS the same within the runs' spread); commits every
 * 100,000 resources (no less memory, 15 % slower); no checkpoint at each commit (90 MB more).
 * Before: DuckDB data chunks instead of the appender (typed writes, nulls as validity
 * bits: about the same time, since DuckDB's own work per row dominates), no primary keys
 * on the CDM tables (about 5 % less CPU, not worth the integrity),
 * `node --max-old-space-size=192`, `memory_limit`, a CSV file and COPY instead of the
 * appender, appending only the given columns to a narrow stage table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { openSiteStore } from '../src/site/store/open.ts';
import type { SiteStore } from '../src/site/store/store.ts';
import { createTempDatabase, postgresReachable } from '../test/support/postgres.ts';
import { benchDir, hospitalExport, ingest, seconds, vocabularyStore } from './support.ts';

/** JSON.parse of every line, read as a stream like ingest reads it (memory stays flat). */
async function parseSeconds(
  exportDir: string,
): Promise<{ seconds: number; cpuSeconds: number; resources: number }> {
  let resources = 0;
  const started = performance.now();
  const cpu = process.cpuUsage();
  for (const file of fs.readdirSync(exportDir)) {
    for await (const line of readline.createInterface({
      input: fs.createReadStream(path.join(exportDir, file)),
    })) {
      if (line) {
        JSON.parse(line);
        resources++;
      }
    }
  }
  return { seconds: seconds(started), cpuSeconds: cpuSeconds(cpu), resources };
}

/** CPU time of this process (every thread: DuckDB works on its own) since `since`. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/**
 * A run's input, made in a process of its own so that generating it weighs on neither the
 * ingest's speed nor its memory: the FHIR export, and a DuckDB store with the vocabulary.
 */
async function prepare(patients: number, dir: string): Promise<void> {
  await hospitalExport(dir, patients);
  const store = await vocabularyStore(path.join(dir, 'vocabulary'));
  await store.close();
}

async function measure(dir: string, url?: string) {
  const exportDir = path.join(dir, 'fhir', 'site-1');
  // The baseline is taken once before the ingest and twice after, and the median kept: on a
  // shared machine one pass of JSON.parse alone varied by half from run to run.
  const parses = [await parseSeconds(exportDir)];
  const storeDir = path.join(dir, 'store');
  fs.rmSync(storeDir, { recursive: true, force: true });
  let store: SiteStore;
  if (url) store = await vocabularyStore(storeDir, url);
  else {
    fs.cpSync(path.join(dir, 'vocabulary'), storeDir, { recursive: true });
    store = await openSiteStore({ dir: storeDir });
  }
  const setupRssMb = process.memoryUsage.rss() / 2 ** 20;
  let ingestRssMb = setupRssMb;
  const sampler = setInterval(() => {
    ingestRssMb = Math.max(ingestRssMb, process.memoryUsage.rss() / 2 ** 20);
  }, 20);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const summary = await ingest(store, exportDir, storeDir);
  const ingestSeconds = seconds(started);
  const ingestCpuSeconds = cpuSeconds(cpu);
  clearInterval(sampler);
  await store.close();
  fs.rmSync(storeDir, { recursive: true, force: true });
  parses.push(await parseSeconds(exportDir), await parseSeconds(exportDir));
  parses.sort((a, b) => a.seconds - b.seconds);
  const parse = parses[1]!;
  return {
    resources: summary.resources,
    parseSeconds: parse.seconds,
    parseSecondsRange: [parses[0]!.seconds, parses[2]!.seconds],
    parseCpuSeconds: parse.cpuSeconds,
    ingestSeconds,
    ingestCpuSeconds,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    setupRssMb,
    ingestRssMb,
  };
}

type Measurement = Awaited<ReturnType<typeof measure>>;
/**
 * Runs per DuckDB size: a single ingest on a shared machine varied by a sixth between runs
 * (and its peak memory by 40 MB), so the median of three is compared.
 */
const RUNS = 3;
/** A size's runs. */
interface Measured {
  patients: number;
  resources: number;
  runs: Measurement[];
}

function middle(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

const [mode, dirArgument, dialect] = process.argv.slice(2);
if (mode === '--prepare') {
  await prepare(Number(dialect), dirArgument!);
} else if (mode === '--measure') {
  let url: string | undefined;
  let drop = async () => {};
  if (dialect === 'postgres') {
    const db = await createTempDatabase('itda_bench');
    url = db.url;
    drop = db.drop;
  }
  try {
    process.stdout.write(JSON.stringify(await measure(dirArgument!, url)));
  } finally {
    await drop();
  }
} else {
  const patients = Number(process.argv[2] ?? 10_000);
  const child = (...args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), ...args], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout;
  };
  const inputs = new Map<number, string>();
  const run = (n: number, dialect: string, times: number): Measured => {
    let dir = inputs.get(n);
    if (!dir) {
      dir = benchDir('ingest');
      child('--prepare', dir, String(n));
      inputs.set(n, dir);
    }
    const runs = Array.from(
      { length: times },
      () => JSON.parse(child('--measure', dir!, dialect)) as Measurement,
    );
    return { patients: n, resources: runs[0]!.resources, runs };
  };
  const range = (values: number[], digits: number) =>
    values.length > 1
      ? ` (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)})`
      : '';
  const report = (label: string, r: Measured) => {
    const { runs } = r;
    const ingestSeconds = middle(runs.map((m) => m.ingestSeconds));
    const parseSeconds = middle(runs.map((m) => m.parseSeconds));
    const ingestRate = r.resources / ingestSeconds;
    const parseRate = r.resources / parseSeconds;
    const passes = runs.flatMap((m) => [...m.parseSecondsRange, m.parseSeconds]);
    const cpuRatios = runs.map((m) => (m.parseCpuSeconds / m.ingestCpuSeconds) * 100);
    process.stdout.write(
      `${label} N=${r.patients.toLocaleString('en')}: ${r.resources.toLocaleString('en')} resources, ` +
        `${runs.length === 1 ? 'one run' : `median of ${runs.length} runs`}: ingest ${Math.round(ingestRate).toLocaleString('en')}/s${range(
          runs.map((m) => r.resources / m.ingestSeconds),
          0,
        )}, ` +
        `JSON.parse ${Math.round(parseRate).toLocaleString('en')}/s (3 passes a run, ${Math.min(...passes).toFixed(1)}–${Math.max(...passes).toFixed(1)} s) → ` +
        `ingest at ${((ingestRate / parseRate) * 100).toFixed(1)} % of parse-only speed` +
        `${label === 'duckdb' && r.patients === patients ? ' (target ≥ 30 %)' : ''}; ` +
        // On a shared machine wall time shifts with the load; the ratio of CPU seconds does less.
        `by CPU time ${middle(cpuRatios).toFixed(1)} %${range(cpuRatios, 1)}${label === 'postgres' ? ' (server CPU not counted)' : ''}; ` +
        `peak RSS ${middle(runs.map((m) => m.maxRssMb)).toFixed(0)} MB${range(
          runs.map((m) => m.maxRssMb),
          0,
        )}, ${middle(runs.map((m) => m.setupRssMb)).toFixed(0)} MB with the store open\n`,
    );
  };
  process.stdout.write(
    'Both rates count the same resources: JSON.parse reads and parses every line on one thread; the ingest reads, ' +
      'parses, maps and writes them (DuckDB in-process on its own threads, PostgreSQL in its server). ' +
      'CPU time is of every thread of the bench process. Each run is a fresh process.\n',
  );
  const small = run(Math.max(100, Math.round(patients / 4)), 'duckdb', RUNS);
  const large = run(patients, 'duckdb', RUNS);
  const double = run(patients * 2, 'duckdb', RUNS);
  for (const r of [small, large, double]) report('duckdb', r);
  const peak = (r: Measured) => middle(r.runs.map((m) => m.maxRssMb));
  const growth = (r: Measured) => middle(r.runs.map((m) => m.ingestRssMb - m.setupRssMb));
  const ratio = (a: Measured, b: Measured) =>
    `N=${a.patients} / N=${b.patients}: ${(peak(a) / peak(b)).toFixed(2)}× ` +
    `(growth during the ingest ${growth(a).toFixed(0)} MB / ${growth(b).toFixed(0)} MB)`;
  process.stdout.write(
    `peak memory (medians), flat once the bounded caches are full: ${ratio(double, large)}, target ≤ 1.15×; ` +
      `while they fill: ${ratio(large, small)}\n`,
  );
  if (await postgresReachable()) report('postgres', run(patients, 'postgres', 1));
  for (const dir of inputs.values()) fs.rmSync(dir, { recursive: true, force: true });
}
