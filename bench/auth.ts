/**
 * bench/auth: what authentication costs a request. `GET /api/auth/me` signed in by the
 * session cookie and by an API key, and a state-changing request with the CSRF token,
 * against a public route of the same hub in the same run (`GET /api/auth/oidc`: no
 * database), with C concurrent clients for S seconds each, best of three interleaved
 * rounds. Prints requests/s, p50/p99 latency, errors (summed over rounds) and the ratio of
 * each p50 to the baseline's, on PGlite and, when reachable, PostgreSQL. The target (≤ 3×)
 * is PostgreSQL's, the production database; embedded PGlite runs every query on one
 * connection inside the hub's own thread, so there the ratio is the price of any query.
 *
 *   npx tsx bench/auth.ts [seconds] [concurrency] [pglite|postgres]   (default 5, 20, both)
 */
import pino from 'pino';
import { loadHubConfig } from '../src/hub/config.ts';
import { createHub } from '../src/hub/server.ts';
import { createTempDatabase, postgresReachable } from '../test/support/postgres.ts';
import { signIn } from '../test/support/session.ts';
import { benchDir } from './support.ts';

const durationSeconds = Number(process.argv[2] ?? 5);
const concurrency = Number(process.argv[3] ?? 20);
const only = process.argv[4];
const TARGET_RATIO = 3;
const ROUNDS = 3;

interface Run {
  requests: number;
  errors: number;
  perSecond: number;
  p50: number;
  p99: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/** `concurrency` loops calling `call` until the time is up; latencies in milliseconds. */
async function drive(call: () => Promise<Response>, expectStatus: number): Promise<Run> {
  const latencies: number[] = [];
  let errors = 0;
  const until = performance.now() + durationSeconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const started = performance.now();
        const response = await call();
        await response.arrayBuffer();
        latencies.push(performance.now() - started);
        if (response.status !== expectStatus) errors++;
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    perSecond: latencies.length / durationSeconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

async function benchDialect(dialect: 'pglite' | 'postgres'): Promise<void> {
  let databaseUrl: string | undefined;
  let drop = async () => {};
  if (dialect === 'postgres') {
    const db = await createTempDatabase('itda_bench_auth');
    databaseUrl = db.url;
    drop = db.drop;
  }
  const config = loadHubConfig(
    {},
    { dataDir: benchDir('auth'), port: 0, logLevel: 'silent', seedDemoAccounts: true, databaseUrl },
  );
  const hub = await createHub(config, pino({ level: 'silent' }));
  try {
    const url = await hub.listen();
    const session = await signIn(url, 'researcher@itda.demo');
    const key = await session.json<{ token: string }>('POST', '/api/auth/keys', {
      name: 'bench',
      scopes: ['catalog:read'],
    });
    const bearer = { authorization: `Bearer ${key.body.token}` };
    // A state-changing route that writes nothing lasting: revoking a key that is not there (404).
    const csrfWrite = () => session.call('DELETE', '/api/auth/keys/0000000000000000');

    const scenarios: [string, () => Promise<Response>, number][] = [
      ['public, no database (baseline)', () => fetch(`${url}/api/auth/oidc`), 200],
      ['session cookie', () => fetch(`${url}/api/auth/me`, { headers: { cookie: session.cookie } }), 200],
      ['API key', () => fetch(`${url}/api/auth/me`, { headers: bearer }), 200],
      ['session + CSRF, DELETE', csrfWrite, 404],
    ];
    // Rounds interleave the scenarios and each keeps its best round, so a busy machine's
    // pauses and the embedded database's warm-up do not decide the ratio.
    const best = new Map<string, Run>();
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call, status] of scenarios) {
        const run = await drive(call, status);
        const kept = best.get(name);
        if (!kept || run.p50 < kept.p50) best.set(name, { ...run, errors: run.errors + (kept?.errors ?? 0) });
        else kept.errors += run.errors;
      }
    }
    const runs = [...best.entries()];
    const baseline = runs[0]![1];
    console.log(`\n${dialect}: ${concurrency} clients × ${durationSeconds} s, best of ${ROUNDS} rounds`);
    for (const [name, run] of runs) {
      const ratio = run.p50 / baseline.p50;
      console.log(
        `  ${name.padEnd(32)} ${run.perSecond.toFixed(0).padStart(6)} req/s  p50 ${run.p50.toFixed(1).padStart(6)} ms  p99 ${run.p99.toFixed(1).padStart(6)} ms  errors ${run.errors}  p50 ratio ${ratio.toFixed(2)}×${run === baseline || dialect !== 'postgres' ? '' : ratio <= TARGET_RATIO ? ' (target ≤ 3× met)' : ' (target ≤ 3× MISSED)'}`,
      );
    }
  } finally {
    await hub.close();
    await drop();
  }
}

for (const dialect of ['pglite', 'postgres'] as const) {
  if (only && only !== dialect) continue;
  if (dialect === 'postgres' && !(await postgresReachable())) {
    console.log('\npostgres: not reachable, skipped');
    continue;
  }
  await benchDialect(dialect);
}
