/**
 * The `itda` command as a user runs it: a real process through bin/itda.js.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../src/cli/program.ts';
import { login } from '../src/hub/auth/service.ts';
import { loadHubConfig } from '../src/hub/config.ts';
import { createHub } from '../src/hub/server.ts';
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

  it.each([['cohort']])('placeholder %s says it is not available and exits non-zero', (...args) => {
    const run = itda(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/not available yet/);
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
