/**
 * The `itda` command as a user runs it: a real process through bin/itda.js.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.ts';
import { login } from '../src/hub/auth/service.ts';
import { loadHubConfig } from '../src/hub/config.ts';
import { createHub } from '../src/hub/server.ts';
import {
  commonConditionOver65,
  loadFeasibilityFixture,
  rareCondition,
} from '../src/site/feasibility/test-fixture.ts';
import { openSiteStore } from '../src/site/store/open.ts';
import { tempDir } from './support/hub.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/itda.js');
const pkg = JSON.parse(await fs.readFile(path.resolve(import.meta.dirname, '../package.json'), 'utf8')) as {
  version: string;
};

function itda(args: string[], env: NodeJS.ProcessEnv = {}) {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Every command path, e.g. ['site', 'run']. */
function commandPaths(): string[][] {
  const paths: string[][] = [];
  const walk = (command: ReturnType<typeof buildProgram>, prefix: string[]) => {
    for (const sub of command.commands) {
      paths.push([...prefix, sub.name()]);
      walk(sub, [...prefix, sub.name()]);
    }
  };
  walk(buildProgram(), []);
  return paths;
}

describe('itda CLI', () => {
  it('prints its version', () => {
    const run = itda(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(pkg.version);
  });

  it('has --help on every command', () => {
    const paths = commandPaths();
    expect(paths).toEqual(expect.arrayContaining([['demo'], ['hub'], ['site', 'run']]));
    for (const p of paths) {
      let out = '';
      const program = buildProgram();
      const override = (command: ReturnType<typeof buildProgram>) => {
        command.exitOverride().configureOutput({
          writeOut: (text) => {
            out += text;
          },
        });
        for (const sub of command.commands) override(sub);
      };
      override(program);
      expect(() => program.parse(['node', 'itda', ...p, '--help'])).toThrow(/outputHelp/);
      expect(out, p.join(' ')).toMatch(new RegExp(`^Usage: itda ${p.join(' ')}`));
    }
    // One real process, so the bin entry itself is covered.
    expect(itda(['site', 'run', '--help']).stdout).toMatch(/--site <dir>/);
  });

  it('stops with a message naming a wrong ITDA_* variable', () => {
    const run = itda(['hub', '--data-dir', '/tmp/itda-never'], { ITDA_PORT: 'eighty' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ITDA_PORT/);
  });

  it('names the database URL it cannot reach', () => {
    const run = itda(['hub', '--port', '0'], {
      ITDA_DATABASE_URL: 'postgres://nobody:secret@127.0.0.1:1/none',
      ITDA_DATA_DIR: '/tmp/itda-never',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ITDA_DATABASE_URL/);
    expect(run.stderr).not.toMatch(/secret/);
  });

  it('audit verify reports an intact log, then names an edited entry', { timeout: 90_000 }, async () => {
    const dir = await tempDir('itda-cli-audit-');
    const hub = await createHub(
      loadHubConfig({}, { dataDir: dir, logLevel: 'silent', seedDemoAccounts: true }),
    );
    await login(hub.ctx, 'admin@itda.demo', 'itda-demo');
    await login(hub.ctx, 'admin@itda.demo', 'wrong').catch(() => {});
    await hub.close();

    const intact = itda(['audit', 'verify', '--data-dir', dir]);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/audit log intact: 2 entries/);

    const reopened = await createHub(loadHubConfig({}, { dataDir: dir, logLevel: 'silent' }));
    await sql`update audit_entry set action = 'auth.logout' where seq = 1`.execute(reopened.ctx.db);
    await reopened.close();
    const broken = itda(['audit', 'verify', '--data-dir', dir]);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/BROKEN at entry 1 .*edited/);
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('runs the demo network and stops it cleanly on SIGINT', { timeout: 90_000 }, async () => {
    const dir = await tempDir('itda-cli-demo-');
    const child = spawn(
      process.execPath,
      [BIN, 'demo', '--dir', dir, '--port', '0', '--no-web-build', '--patients', '0'],
      {
        env: { ...process.env, ITDA_LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo did not start:\n${stdout}`)), 45_000);
      child.stdout.on('data', () => {
        const match = /Web UI\s+(http:\/\/\S+?)\/\s/.exec(stdout);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    expect(stdout).toMatch(/admin@itda\.demo/);
    const health = (await (await fetch(`${url}/api/health`)).json()) as { sites: { connected: boolean }[] };
    expect(health.sites.filter((s) => s.connected)).toHaveLength(3);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // Nothing is left listening once the process is gone.
    await expect(fetch(`${url}/api/health`)).rejects.toThrow();
    await fs.rm(dir, { recursive: true, force: true });
  });
});

describe('itda cohort', () => {
  let dir: string;
  let siteDir: string;
  const definitionFile = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await tempDir('itda-cli-cohort-');
    siteDir = path.join(dir, 'site');
    const store = await openSiteStore({ dir: siteDir });
    try {
      await loadFeasibilityFixture(store, { old: 26, young: 11, rare: 4 });
    } finally {
      await store.close();
    }
    await fs.writeFile(definitionFile('over65.json'), JSON.stringify(commonConditionOver65(), null, 2));
    await fs.writeFile(definitionFile('rare.json'), JSON.stringify(rareCondition()));
    await fs.writeFile(
      definitionFile('broken.json'),
      '{\n  "ConceptSets": [],\n  "PrimaryCriteria": {,\n}\n',
    );
    await fs.writeFile(
      definitionFile('unsupported.json'),
      JSON.stringify({
        ConceptSets: [],
        PrimaryCriteria: { CriteriaList: [{ LocationRegion: { CodesetId: 1 } }] },
      }),
    );
  }, 120_000);
  afterAll(async () => fs.rm(dir, { recursive: true, force: true }));

  it('count: exact cohort size and attrition at the site, as JSON and as text', { timeout: 90_000 }, () => {
    const json = itda([
      'cohort',
      'count',
      '--site',
      siteDir,
      '--definition',
      definitionFile('over65.json'),
      '--json',
    ]);
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const summary = JSON.parse(json.stdout) as {
      baseCount: number;
      finalCount: number;
      inclusionRules: unknown[];
    };
    // Exact (no rounding): the steward runs it on their own data.
    expect(summary).toMatchObject({ baseCount: 37, finalCount: 26 });
    expect(summary.inclusionRules).toEqual([
      expect.objectContaining({ personCount: 26, gainCount: 11, remainingCount: 26 }),
    ]);
    const rare = itda(['cohort', 'count', '--site', siteDir, '--definition', definitionFile('rare.json')]);
    expect(rare.code).toBe(0);
    expect(rare.stdout).toMatch(/persons in the cohort:\s+4\b/);
  });

  it('generate: cohort rows and inclusion-result rows', { timeout: 90_000 }, () => {
    const run = itda([
      'cohort',
      'generate',
      '--site',
      siteDir,
      '--definition',
      definitionFile('over65.json'),
      '--json',
    ]);
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as {
      cohort: { subject_id: number; cohort_start_date: string; cohort_end_date: string }[];
      inclusionResults: { inclusion_rule_mask: number; person_count: number; mode_id: number }[];
    };
    expect(out.cohort).toHaveLength(26);
    expect(new Set(out.cohort.map((r) => r.subject_id)).size).toBe(26);
    expect(out.cohort[0]).toEqual({
      subject_id: expect.any(Number),
      cohort_start_date: '2020-06-01',
      cohort_end_date: '2024-12-31',
    });
    expect(out.inclusionResults.filter((r) => r.mode_id === 1)).toEqual([
      { inclusion_rule_mask: 0, person_count: 11, mode_id: 1 },
      { inclusion_rule_mask: 1, person_count: 26, mode_id: 1 },
    ]);
  });

  it('sql: the compiled statements for each dialect', { timeout: 90_000 }, () => {
    const duck = itda([
      'cohort',
      'sql',
      '--dialect',
      'duckdb',
      '--definition',
      definitionFile('over65.json'),
    ]);
    const pg = itda([
      'cohort',
      'sql',
      '--dialect',
      'postgres',
      '--definition',
      definitionFile('over65.json'),
      '--result-schema',
      'res',
    ]);
    expect(duck.code).toBe(0);
    expect(pg.code).toBe(0);
    expect(duck.stdout).toContain('CREATE TABLE IF NOT EXISTS "results".cohort ');
    expect(pg.stdout).toContain('"res".cohort_summary_stats');
    expect(duck.stdout).toContain('2000000101');
    expect(duck.stdout).not.toEqual(pg.stdout.replaceAll('"res"', '"results"'));
    const bad = itda(['cohort', 'sql', '--dialect', 'oracle', '--definition', definitionFile('over65.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--dialect: duckdb or postgres/);
  });

  it('names a missing file, bad JSON with its position, and unsupported parts', { timeout: 90_000 }, () => {
    const missing = itda(['cohort', 'count', '--site', siteDir, '--definition', definitionFile('nope.json')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nope\.json: no such definition file/);
    const broken = itda([
      'cohort',
      'sql',
      '--dialect',
      'duckdb',
      '--definition',
      definitionFile('broken.json'),
    ]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/broken\.json: not valid JSON at line 3, column 23/);
    const unsupported = itda([
      'cohort',
      'count',
      '--site',
      siteDir,
      '--definition',
      definitionFile('unsupported.json'),
    ]);
    expect(unsupported.code).toBe(2);
    expect(unsupported.stderr).toMatch(/LocationRegion/);
    const noSite = itda([
      'cohort',
      'count',
      '--site',
      path.join(dir, 'empty'),
      '--definition',
      definitionFile('rare.json'),
    ]);
    expect(noSite.code).toBe(1);
    expect(noSite.stderr).toMatch(/no site store/);
  });
});
