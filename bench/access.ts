/**
 * bench/access: the access workflow under load. A hub on a throw-away PostgreSQL database
 * with two approved sites and their demo DRBs; U simulated users for S seconds. Each user
 * is a person: after every request they pause 0.5–1.5 × --think-ms (default 1000 ms),
 * uniformly at random, and they arrive spread over one such pause. Researchers create an
 * application, save it twice (autosave), upload the IRB letter, submit, and read their
 * list, the application and its timeline; DRB members read their site's inbox, open a
 * review and vote. Before the run, the same users call `GET /api/health` for a tenth of
 * the time (at least 3 s), pausing the same way — the baseline. Prints per endpoint and
 * overall: requests, errors, p50/p99 latency and the p99's ratio to the baseline's.
 * Target on this machine: no errors, p99 < 250 ms.
 *
 * `--think-ms 0` is a closed loop instead (each user sends the next request the moment
 * the last returns): a throughput test, whose latency is users ÷ throughput by Little's
 * law. On two cores shared by the hub, PostgreSQL and this load generator, 200 such
 * users keep even `GET /api/health` (no work at all) near 190 ms at p99; the workload's
 * requests run 5–20 statements each.
 *
 * The hub under test runs as `itda hub` in its own process, so the load generator does not
 * share its event loop (`--in-process` serves from this process instead, for comparison);
 * accounts, sites and DRBs are set up through a second hub object on the same database.
 *
 *   npx tsx bench/access.ts [--users 200] [--seconds 60] [--think-ms 1000 (0: closed loop)] [--reviewer-share 0.25] [--in-process] [--cpu-prof DIR]
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { seedDemoDrbs } from '../src/hub/access/demo.ts';
import { chainPendingAudit, verifyAuditLog } from '../src/hub/audit/service.ts';
import { createUser } from '../src/hub/auth/service.ts';
import { loadHubConfig } from '../src/hub/config.ts';
import { createHub } from '../src/hub/server.ts';
import { insertSite } from '../src/hub/sites/store.ts';
import type { ApplicationDraft, ReviewView } from '../src/protocol/access.ts';
import { generateSigningKeyPair } from '../src/protocol/signing.ts';
import { commonConditionOver65 } from '../src/site/feasibility/test-fixture.ts';
import { createTempDatabase, postgresReachable } from '../test/support/postgres.ts';
import { signIn, type TestSession } from '../test/support/session.ts';
import { benchDir, benchFlags } from './support.ts';

const flags = benchFlags(
  {
    users: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    'think-ms': { type: 'string', default: '1000' },
    'reviewer-share': { type: 'string', default: '0.25' },
    'in-process': { type: 'boolean', default: false },
    /** A folder for a CPU profile of the hub process (node --cpu-prof), to see where its time goes. */
    'cpu-prof': { type: 'string' },
  },
  'npx tsx bench/access.ts [--users 200] [--seconds 60] [--think-ms 1000 (0: closed loop)] [--reviewer-share 0.25] [--in-process] [--cpu-prof DIR]',
);
const USERS = Number(flags.users);
const SECONDS = Number(flags.seconds);
const THINK_MS = Number(flags['think-ms']);
const REVIEWER_SHARE = Number(flags['reviewer-share']);
for (const [name, value] of Object.entries({ users: USERS, seconds: SECONDS, 'think-ms': THINK_MS }))
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name}: a non-negative number, not ${value}`);
const TARGET_P99_MS = 250;
const SITES = ['site-1', 'site-2'] as const;
const IRB_LETTER = Buffer.from('%PDF-1.7\n% IRB approval letter\n1 0 obj <<>> endobj\n%%EOF\n');

/** Latencies of one endpoint, in milliseconds, and the requests that did not get the expected status. */
class EndpointStats {
  readonly latencies: number[] = [];
  errors = 0;
  readonly errorSamples = new Map<string, number>();
  record(ms: number, error?: string): void {
    this.latencies.push(ms);
    if (error === undefined) return;
    this.errors++;
    this.errorSamples.set(error, (this.errorSamples.get(error) ?? 0) + 1);
  }
}

const stats = new Map<string, EndpointStats>();
let stopAt = 0;

interface Reply {
  status: number;
  text: string;
}

// The load generator shares the hub's two cores: node:http with kept-alive sockets costs it
// a fraction of what fetch does per request, leaving that CPU to the hub and PostgreSQL.
const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });

function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: string | Buffer,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sent = http.request(
      url,
      {
        method,
        agent,
        headers:
          body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(body);
  });
}

/** A signed-in user's requests, as JSON. */
function client(url: string, session: TestSession) {
  return {
    call: (method: string, path: string, body?: unknown) =>
      request(
        `${url}${path}`,
        method,
        session.headers(),
        body === undefined ? undefined : JSON.stringify(body),
      ),
    upload: (path: string, contentType: string, bytes: Buffer) =>
      request(`${url}${path}`, 'POST', session.headers({ 'content-type': contentType }), bytes),
  };
}
type Client = ReturnType<typeof client>;

/** One timed request; a wrong status or a failed connection counts as an error of `endpoint`. */
async function timed<T>(
  endpoint: string,
  expected: number,
  send: () => Promise<Reply>,
): Promise<T | undefined> {
  const entry = stats.get(endpoint) ?? new EndpointStats();
  stats.set(endpoint, entry);
  const started = performance.now();
  try {
    const response = await send();
    const text = response.text;
    const ms = performance.now() - started;
    if (response.status !== expected) {
      entry.record(ms, `${response.status} ${text.slice(0, 160)}`);
      return undefined;
    }
    entry.record(ms);
    return (text ? JSON.parse(text) : undefined) as T;
  } catch (error) {
    entry.record(performance.now() - started, String(error));
    return undefined;
  } finally {
    await think();
  }
}

const loadAverage = () =>
  os
    .loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
const pause = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());
/** A user's pause after a request (--think-ms), jittered so users do not move in lockstep. */
const think = () => pause(THINK_MS * (0.5 + Math.random()));
/** Users arrive spread over one think time, as people do; without think time all start at once. */
const arrive = () => pause(THINK_MS * Math.random());
const running = () => performance.now() < stopAt;

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function content(n: number): ApplicationDraft {
  return {
    title: `부하 시험 ${n} Load test application ${n}`,
    purpose: 'Size the cohort before a federated model',
    researchQuestion: 'How many patients aged 65+ carry the condition at each hospital?',
    intendedUse: {
      purpose: 'HMB',
      diseaseConceptIds: [],
      commercial: false,
      forProfitOrganisation: false,
      methodsResearch: false,
      geneticStudy: false,
    },
    members: [{ name: `연구자 ${n}`, role: 'pi' }],
    datasetIds: [],
    siteIds: [...SITES],
    cohort: commonConditionOver65() as Record<string, unknown>,
    variables: { tables: ['condition_occurrence'], conceptSets: [] },
    period: { start: '2026-01-01', end: '2099-12-31' },
    analysisMode: 'federated_analysis',
    dataManagementPlan: 'Counts only.',
    review: { mode: 'separate' },
  };
}

/** A researcher's loop: draft, autosave, IRB upload, submit, then the reads a researcher makes. */
async function researcher(session: Client, n: number): Promise<void> {
  await arrive();
  let round = 0;
  while (running()) {
    const draft = content(n * 10_000 + round++);
    const created = await timed<{ id: string }>('POST /api/applications', 201, () =>
      session.call('POST', '/api/applications', { title: draft.title }),
    );
    if (!created) continue;
    const path = `/api/applications/${created.id}`;
    const { title: _title, irb: _irb, ...rest } = draft;
    await timed('PATCH /api/applications/:id', 200, () => session.call('PATCH', path, rest));
    const attachment = await timed<{ id: string }>('POST /api/applications/:id/attachments', 201, () =>
      session.upload(`${path}/attachments?kind=irb_approval&name=irb.pdf`, 'application/pdf', IRB_LETTER),
    );
    if (!attachment) continue;
    await timed('PATCH /api/applications/:id', 200, () =>
      session.call('PATCH', path, {
        irb: {
          number: `IRB-${n}-${round}`,
          institution: '한강대학교 생명윤리위원회',
          approvedOn: '2026-01-15',
          expiresOn: '2099-01-14',
          documentAttachmentId: attachment.id,
        },
      }),
    );
    await timed('POST /api/applications/:id/submit', 200, () => session.call('POST', `${path}/submit`));
    await timed('GET /api/applications', 200, () => session.call('GET', '/api/applications'));
    await timed('GET /api/applications/:id', 200, () => session.call('GET', path));
    await timed('GET /api/applications/:id/history', 200, () => session.call('GET', `${path}/history`));
  }
}

/** Votes claimed so far, per review, and which accounts claimed them: no member votes twice, no vote beyond the quorum. */
const claims = new Map<string, Set<string>>();

function claim(review: ReviewView, accountId: string): boolean {
  const taken = claims.get(review.id) ?? new Set<string>();
  claims.set(review.id, taken);
  if (taken.has(accountId) || taken.size >= (review.quorum ?? 3)) return false;
  if (review.votes?.some((v) => v.userId === accountId)) return false;
  taken.add(accountId);
  return true;
}

/** A DRB member's loop: the site's inbox, one open review, a vote (approve, sometimes with a condition). */
async function reviewer(session: Client, siteId: string, accountId: string): Promise<void> {
  await arrive();
  let votes = 0;
  while (running()) {
    const inbox = await timed<{ reviews: ReviewView[] }>('GET /api/sites/:id/reviews', 200, () =>
      session.call('GET', `/api/sites/${siteId}/reviews`),
    );
    const open = (inbox?.reviews ?? []).find((r) => r.decision === 'pending' && claim(r, accountId));
    if (!open) {
      await pause(200);
      continue;
    }
    await timed('GET /api/reviews/:id', 200, () => session.call('GET', `/api/reviews/${open.id}`));
    const conditional = votes++ % 4 === 0;
    await timed('POST /api/reviews/:id/votes', 200, () =>
      session.call('POST', `/api/reviews/${open.id}/votes`, {
        vote: conditional ? 'approve_with_conditions' : 'approve',
        comment: 'bench',
        conditions: conditional ? ['publish aggregate results only'] : [],
      }),
    );
  }
}

/** Runs `tasks` with at most `limit` at a time (sign-ins hash passwords: a flood would only queue). */
async function limited<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

function report(title: string, baselineP99: number): { errors: number; p99: number } {
  console.log(`\n${title}`);
  console.log(
    `  ${'endpoint'.padEnd(40)} ${'requests'.padStart(8)} ${'errors'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'p99/base'.padStart(9)}`,
  );
  const all: number[] = [];
  let errors = 0;
  for (const [endpoint, entry] of [...stats.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const sorted = [...entry.latencies].sort((a, b) => a - b);
    all.push(...sorted);
    errors += entry.errors;
    const p99 = quantile(sorted, 0.99);
    console.log(
      `  ${endpoint.padEnd(40)} ${String(sorted.length).padStart(8)} ${String(entry.errors).padStart(7)} ${quantile(sorted, 0.5).toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(8)} ${`${(p99 / baselineP99).toFixed(2)}×`.padStart(9)}`,
    );
    for (const [sample, count] of [...entry.errorSamples].slice(0, 3))
      console.log(`      ${count}× ${sample}`);
  }
  all.sort((a, b) => a - b);
  const p99 = quantile(all, 0.99);
  console.log(
    `  ${'overall'.padEnd(40)} ${String(all.length).padStart(8)} ${String(errors).padStart(7)} ${quantile(all, 0.5).toFixed(1).padStart(8)} ${p99.toFixed(1).padStart(8)} ${`${(p99 / baselineP99).toFixed(2)}×`.padStart(9)}`,
  );
  return { errors, p99 };
}

if (!(await postgresReachable())) {
  console.log('bench/access needs PostgreSQL (ITDA_TEST_POSTGRES_URL); not reachable, nothing measured');
  process.exit(1);
}
/** `itda hub` on the same data directory and database; resolves to its URL once it listens. */
function startHubProcess(
  dataDir: string,
  databaseUrl: string,
): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [
      ...(flags['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${flags['cpu-prof']}`] : []),
      path.resolve(import.meta.dirname, '../bin/itda.js'),
      ...['hub', '--port', '0', '--data-dir', dataDir],
    ],
    {
      env: { ...process.env, ITDA_DATABASE_URL: databaseUrl, ITDA_LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Itda hub on (http:\/\/\S+)/.exec(output);
      if (match)
        resolve({
          url: match[1]!,
          stop: () => {
            child.kill('SIGTERM');
            return new Promise<void>((r) => child.once('exit', () => r()));
          },
        });
    });
    child.on('exit', (code) => reject(new Error(`itda hub exited (${code}) before listening: ${output}`)));
  });
}

const database = await createTempDatabase('itda_bench_access');
const dataDir = benchDir('access');
const config = loadHubConfig(
  {},
  {
    dataDir,
    port: 0,
    logLevel: 'silent',
    seedDemoAccounts: true,
    databaseUrl: database.url,
  },
);
const hub = await createHub(config, pino({ level: 'silent' }));
let served: { url: string; stop(): Promise<void> } | undefined;
try {
  for (const id of SITES)
    await insertSite(hub.ctx.db, {
      id,
      name: id,
      publicKey: generateSigningKeyPair().publicKey,
      software: 'bench',
      approved: true,
    });
  await seedDemoDrbs(hub.ctx, SITES);
  served = flags['in-process']
    ? { url: await hub.listen(), stop: async () => {} }
    : await startHubProcess(dataDir, database.url);
  const url = served.url;

  const reviewers = Math.max(SITES.length, Math.round(USERS * REVIEWER_SHARE));
  const researchers = Math.max(1, USERS - reviewers);
  const setupStarted = performance.now();
  await limited(
    4,
    Array.from(
      { length: researchers },
      (_, i) => () =>
        createUser(hub.ctx, {
          email: `bench-researcher-${i}@itda.bench`,
          name: `Bench researcher ${i}`,
          password: 'bench-password-long',
          roles: ['researcher'],
        }),
    ),
  );
  const researcherSessions = await limited(
    4,
    Array.from(
      { length: researchers },
      (_, i) => () => signIn(url, `bench-researcher-${i}@itda.bench`, 'bench-password-long'),
    ),
  );
  // Reviewers take the demo DRB seats in turn: several sessions may sit in one seat.
  const members = (
    await hub.ctx.db.selectFrom('drb_member').select(['site_id', 'user_id']).orderBy('user_id').execute()
  ).map((m) => ({ siteId: m.site_id, userId: m.user_id }));
  const emails = new Map(
    (await hub.ctx.db.selectFrom('app_user').select(['id', 'email']).execute()).map((u) => [u.id, u.email]),
  );
  const seats = Array.from({ length: reviewers }, (_, i) => members[i % members.length]!);
  const reviewerSessions = await limited(
    4,
    seats.map((seat) => () => signIn(url, emails.get(seat.userId)!)),
  );
  console.log(
    `hub on PostgreSQL (${flags['in-process'] ? 'in this process' : 'own process'}, pool ${config.databasePool}), ${researchers} researchers + ${reviewers} DRB sessions (${members.length} seats), ${SECONDS} s, ${THINK_MS > 0 ? `think time ${THINK_MS / 2}–${THINK_MS * 1.5} ms after every request` : 'no think time (closed loop)'}; set-up ${((performance.now() - setupStarted) / 1000).toFixed(1)} s; load average ${loadAverage()}`,
  );

  // Baseline: the cheapest signed-in read, same users, same hub, same run.
  const baselineSeconds = Math.max(3, SECONDS / 10);
  stopAt = performance.now() + baselineSeconds * 1000;
  const sessions = [...researcherSessions, ...reviewerSessions];
  await Promise.all(
    sessions.map(async (session) => {
      await arrive();
      const user = client(url, session);
      while (running()) await timed('GET /api/health', 200, () => user.call('GET', '/api/health'));
    }),
  );
  const baseline = [...stats.get('GET /api/health')!.latencies].sort((a, b) => a - b);
  const baselineP99 = quantile(baseline, 0.99);
  console.log(
    `baseline GET /api/health: ${baseline.length} requests in ${baselineSeconds} s, p50 ${quantile(baseline, 0.5).toFixed(1)} ms, p99 ${baselineP99.toFixed(1)} ms, errors ${stats.get('GET /api/health')!.errors}`,
  );
  stats.clear();

  const started = performance.now();
  stopAt = started + SECONDS * 1000;
  await Promise.all([
    ...researcherSessions.map((session, i) => researcher(client(url, session), i)),
    ...reviewerSessions.map((session, i) =>
      reviewer(client(url, session), seats[i]!.siteId, seats[i]!.userId),
    ),
  ]);
  const elapsed = (performance.now() - started) / 1000;
  const { errors, p99 } = report(
    `workload: ${USERS} users for ${elapsed.toFixed(1)} s (${(
      [...stats.values()].reduce((n, s) => n + s.latencies.length, 0) / elapsed
    ).toFixed(0)} req/s; after ${SECONDS} s each user finishes the round it is in)`,
    baselineP99,
  );
  const states = await hub.ctx.db
    .selectFrom('application')
    .select(['state', hub.ctx.db.fn.countAll<string>().as('n')])
    .groupBy('state')
    .execute();
  const permits = await hub.ctx.db
    .selectFrom('permit')
    .select(hub.ctx.db.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  console.log(
    `\napplications by state: ${states.map((s) => `${s.state} ${s.n}`).join(', ')}; permits issued ${permits.n}`,
  );
  // The chain must come out of concurrent writers whole, with nothing left unchained.
  await chainPendingAudit(hub.ctx.db, hub.ctx.keys.privateKey);
  const chain = await verifyAuditLog(hub.ctx.db, hub.ctx.keys.publicKey);
  console.log(
    `audit chain: ${chain.entries} entries, ${chain.ok ? 'verifies' : `BROKEN at seq ${chain.firstBadSeq}: ${chain.reason}`}; load average ${loadAverage()} (${os.cpus().length} CPUs)`,
  );
  console.log(
    `target: no errors and p99 < ${TARGET_P99_MS} ms — errors ${errors} ${errors === 0 && chain.ok ? '(met)' : '(MISSED)'}, p99 ${p99.toFixed(1)} ms ${p99 < TARGET_P99_MS ? '(met)' : '(MISSED)'}`,
  );
} finally {
  await served?.stop();
  await hub.close();
  await database.drop();
}
