/**
 * The demo network: a hub on embedded PGlite and three site nodes, each an isolated
 * in-process instance with its own directory, keys and OMOP store. State lives under
 * one folder, so a restart keeps it.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { seedDemoDrbs } from '../hub/access/demo.ts';
import { DEMO_ACCOUNTS } from '../hub/auth/demo-accounts.ts';
import { seedSiteDataset } from '../hub/catalog/seed.ts';
import { type HubConfig, loadHubConfig } from '../hub/config.ts';
import { createHub, type Hub } from '../hub/server.ts';
import { hubHasVocabulary, loadHubVocabulary } from '../hub/vocabulary/service.ts';
import { ItdaError } from '../protocol/errors.ts';
import { loadSiteConfig } from '../site/config.ts';
import { ingestFhir } from '../site/ingest/fhir-ingest.ts';
import { loadVocabulary } from '../site/ingest/omop-csv.ts';
import { type SiteNode, startSiteNode } from '../site/node/site-node.ts';
import { synthesize } from '../synth/synthesize.ts';
import { KCD7_VOCABULARY_DIR } from '../synth/vocabulary.ts';
import { createProgress } from './progress.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const DEMO_SITE_NAMES = [
  '서울하늘병원 Seoul Haneul Hospital',
  '부산바다병원 Busan Bada Hospital',
  '대전숲병원 Daejeon Forest Hospital',
];

export interface DemoOptions {
  dir: string;
  port: number;
  host?: string;
  sites?: number;
  /** Long-poll wait for the sites; tests shorten it. */
  pollWaitSeconds?: number;
  logLevel?: string;
  /** Build the web app when web/dist is missing. */
  buildWeb?: boolean;
  /** People generated on first start (FHIR exports of the demo hospitals); 0 skips it. */
  patients?: number;
  /** Tests shorten timings through this. */
  hub?: Partial<HubConfig>;
}

export interface DemoNetwork {
  url: string;
  /** Where each demo hospital's FHIR export lives (site-N/), with the ground truth in truth/. */
  fhirExportDir: string | undefined;
  hub: Hub;
  sites: Map<string, SiteNode>;
  stopSite(id: string): Promise<void>;
  stop(): Promise<void>;
}

async function demoEnrolmentToken(dir: string): Promise<string> {
  const file = path.join(dir, 'enrolment-token');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const token = randomBytes(24).toString('base64url');
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(file, token, { mode: 0o600 });
    return token;
  }
}

/** What the web bundle is built from: its own sources and the shared types it imports. */
const WEB_SOURCES = [
  'web/src',
  'web/index.html',
  'web/vite.config.ts',
  'web/package.json',
  'src/protocol',
  'src/cohort',
];

async function newestChange(target: string): Promise<number> {
  const stat = await fs.stat(target).catch(() => undefined);
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  const entries = await fs.readdir(target);
  const times = await Promise.all(entries.map((entry) => newestChange(path.join(target, entry))));
  return Math.max(stat.mtimeMs, ...times);
}

const WEB_DIR = path.join(REPO_ROOT, 'web');
const WEB_DIST = path.join(WEB_DIR, 'dist');

/** When web/dist was built, or undefined when it needs building (missing, or older than a source). */
async function freshWebBuild(): Promise<number | undefined> {
  const built = await fs.stat(path.join(WEB_DIST, 'index.html')).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
  if (built === undefined) return undefined;
  const sources = await Promise.all(WEB_SOURCES.map((p) => newestChange(path.join(REPO_ROOT, p))));
  return Math.max(...sources) <= built ? built : undefined;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Runs `fn` holding web/.build.lock, so processes starting together build the web app once. */
async function withWebBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(WEB_DIR, '.build.lock');
  for (;;) {
    try {
      await fs.writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(await fs.readFile(lock, 'utf8').catch(() => ''));
      // A lock left by a process that died is taken over.
      if (holder > 0 && !processAlive(holder)) await fs.rm(lock, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lock, { force: true });
  }
}

/**
 * Builds web/dist with Vite when it is missing or older than a source it is built from.
 * The build goes to a folder of its own and is swapped in by renames, so a hub serving
 * the old build never sees a half-written one.
 */
export async function ensureWebBuilt(): Promise<void> {
  if ((await freshWebBuild()) !== undefined) return;
  await withWebBuildLock(async () => {
    if ((await freshWebBuild()) !== undefined) return; // another process built it meanwhile
    const first = !(await fs.stat(WEB_DIST).catch(() => undefined));
    process.stderr.write(
      first
        ? 'Building the web app (first start only)…\n'
        : 'Rebuilding the web app (its sources changed)…\n',
    );
    const outDir = path.join(WEB_DIR, `.dist-${process.pid}`);
    const vite = path.join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    await new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [vite, 'build', '--logLevel', 'warn', '--outDir', outDir, '--emptyOutDir'],
        { cwd: WEB_DIR, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new ItdaError('internal', `web build failed (exit ${code})`)),
      );
    });
    const old = path.join(WEB_DIR, `.dist-old-${process.pid}`);
    await fs.rename(WEB_DIST, old).catch(() => {});
    await fs.rename(outDir, WEB_DIST);
    await fs.rm(old, { recursive: true, force: true });
  });
}

export const DEMO_PATIENTS = 6000;

/** Generates the demo hospitals' FHIR exports once; later starts reuse them. */
async function ensureDemoPopulation(out: string, patients: number, sites: number): Promise<void> {
  try {
    await fs.access(path.join(out, 'truth', 'model.json'));
    return;
  } catch {}
  process.stderr.write(
    `Generating ${patients.toLocaleString('en')} synthetic patients for the demo hospitals (first start only)…\n`,
  );
  const progress = createProgress('synth', patients, 'people');
  try {
    await synthesize(
      { patients, sites, seed: 'itda-demo', out },
      { onProgress: (done) => progress.update(done) },
    );
  } finally {
    progress.stop();
  }
}

/** The vocabularies a demo hospital maps with: Itda's KCD-7 and, when present, the Eunomia subset. */
export const EUNOMIA_VOCABULARY_DIR = path.join(REPO_ROOT, '..', 'shared', 'data', 'eunomia-synthea27nj-5.4');

/** Ingests a demo hospital's FHIR export into its store once, then republishes its reports. */
async function loadDemoSite(site: SiteNode, exportDir: string, quarantineDir: string): Promise<void> {
  const [done] = await site.store.all<{ n: number }>('SELECT count(*) AS n FROM itda.ingested_file');
  if (done!.n > 0) return;
  for (const vocabulary of [KCD7_VOCABULARY_DIR, EUNOMIA_VOCABULARY_DIR]) {
    try {
      await fs.access(vocabulary);
      await loadVocabulary(site.store, vocabulary, { quarantineDir });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  process.stderr.write(
    `Loading ${path.basename(exportDir)}'s FHIR export into its OMOP store (first start only)…\n`,
  );
  const progress = createProgress(path.basename(exportDir), 0, 'resources');
  try {
    await ingestFhir(site.store, [exportDir], { quarantineDir, onProgress: (n) => progress.update(n) });
  } finally {
    progress.stop();
  }
  await site.publishReports();
}

/** On first start: the hub's copy of the sites' vocabularies, and one catalog entry per site. */
async function prepareDemoCatalog(hub: Hub, siteIds: string[]): Promise<void> {
  if (!(await hubHasVocabulary(hub.ctx.db))) {
    // Eunomia first: with no Korean names loaded yet its 266,000 relationships need no scan.
    for (const vocabulary of [EUNOMIA_VOCABULARY_DIR, KCD7_VOCABULARY_DIR]) {
      try {
        await fs.access(vocabulary);
      } catch {
        continue;
      }
      await loadHubVocabulary(hub.ctx.db, vocabulary);
    }
  }
  for (const id of siteIds) await seedSiteDataset(hub.ctx, id);
}

export async function startDemoNetwork(options: DemoOptions): Promise<DemoNetwork> {
  const dir = path.resolve(options.dir);
  const logLevel = options.logLevel ?? 'info';
  const log = pino({ level: logLevel, name: 'demo' });
  if (options.buildWeb ?? true) await ensureWebBuilt();
  const token = await demoEnrolmentToken(dir);
  const fhirExportDir = (options.patients ?? DEMO_PATIENTS) > 0 ? path.join(dir, 'fhir-export') : undefined;
  if (fhirExportDir)
    await ensureDemoPopulation(fhirExportDir, options.patients ?? DEMO_PATIENTS, options.sites ?? 3);
  const hubConfig = loadHubConfig(
    {},
    {
      host: options.host ?? '127.0.0.1',
      port: options.port,
      dataDir: path.join(dir, 'hub'),
      enrolmentToken: token,
      logLevel,
      seedDemoAccounts: true,
      ...options.hub,
    },
  );
  const hub = await createHub(hubConfig, log.child({ name: 'hub' }));
  const url = await hub.listen();
  const sites = new Map<string, SiteNode>();
  try {
    const count = options.sites ?? 3;
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const id = `site-${i + 1}`;
        const config = loadSiteConfig(
          path.join(dir, id),
          {},
          {
            hubUrl: url,
            siteId: id,
            siteName: DEMO_SITE_NAMES[i] ?? `Demo Hospital ${i + 1}`,
            enrolmentToken: token,
            pollWaitSeconds: options.pollWaitSeconds ?? 30,
            logLevel,
          },
        );
        sites.set(id, await startSiteNode(config, { logger: log.child({ name: `site:${id}` }) }));
      }),
    );
    await Promise.all([...sites.values()].map((s) => s.ready));
    if (fhirExportDir) {
      for (const [id, site] of sites)
        await loadDemoSite(site, path.join(fhirExportDir, id), path.join(dir, id, 'quarantine'));
    }
    await prepareDemoCatalog(hub, [...sites.keys()]);
    await seedDemoDrbs(hub.ctx, [...sites.keys()]);
  } catch (error) {
    await Promise.all([...sites.values()].map((s) => s.stop()));
    await hub.close();
    throw error;
  }
  return {
    url,
    fhirExportDir,
    hub,
    sites,
    async stopSite(id) {
      const site = sites.get(id);
      if (!site) throw new ItdaError('not_found', `no demo site ${id}`);
      sites.delete(id);
      await site.stop();
    },
    async stop() {
      await Promise.all([...sites.values()].map((s) => s.stop()));
      sites.clear();
      await hub.close();
    },
  };
}

export function demoBanner(network: DemoNetwork): string {
  const accounts = DEMO_ACCOUNTS.map(
    (a) => `    ${a.email.padEnd(24)} ${a.password.padEnd(12)} ${a.roles.join(', ')}`,
  );
  return [
    '',
    `  Itda demo network is up — ${network.sites.size} sites connected`,
    '',
    `  Web UI     ${network.url}/`,
    `  API docs   ${network.url}/api/docs`,
    `  Health     ${network.url}/api/health`,
    ...(network.fhirExportDir
      ? [`  FHIR data  ${network.fhirExportDir}/site-N (synthetic; truth/ is for evaluation only)`]
      : []),
    '',
    '  Demo accounts (e-mail / password / role):',
    ...accounts,
    '    steward1@ … steward3@itda.demo          stewards of site-1 … site-3',
    '    drb1-a@ … drb3-e@itda.demo              five DRB members per site (d, e external)',
    '    irb@itda.demo, company@itda.demo        IRB officer, company researcher (same password)',
    '',
    '  Press Ctrl-C to stop.',
    '',
  ].join('\n');
}
