/**
 * The demo network end to end: a hub and three site nodes in one process, talking
 * over real HTTP on loopback.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoNetwork, startDemoNetwork } from '../src/cli/demo.ts';
import {
  generateSigningKeyPair,
  loadPrivateKey,
  publicKeyFromPrivate,
  signValue,
} from '../src/protocol/signing.ts';
import type { Health } from '../src/protocol/wire.ts';
import { readTaskLog, verifyTaskLog } from '../src/site/node/task-log.ts';
import { tempDir } from './support/hub.ts';
import { signIn } from './support/session.ts';

async function getJson<T>(url: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as T };
}

/** Headers of an admin session: cookie and CSRF token. */
async function adminHeaders(url: string): Promise<Record<string, string>> {
  return (await signIn(url, 'admin@itda.demo')).headers();
}

async function waitFor<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const start = (dir: string) =>
  startDemoNetwork({
    dir,
    port: 0,
    buildWeb: false,
    logLevel: 'silent',
    pollWaitSeconds: 5,
    patients: 90,
    hub: { siteOfflineAfterSeconds: 2 },
  });

describe('demo network', () => {
  let dir: string;
  let network: DemoNetwork;
  let admin: Record<string, string>;
  let firstPingId: string;

  beforeAll(async () => {
    dir = await tempDir('itda-demo-');
    network = await start(dir);
    admin = await adminHeaders(network.url);
  });
  afterAll(async () => {
    await network?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('lists three connected sites in /api/health', async () => {
    const { body } = await getJson<Health>(`${network.url}/api/health`);
    expect(body.database).toBe('pglite');
    expect(body.sites.map((s) => [s.id, s.status, s.connected])).toEqual([
      ['site-1', 'approved', true],
      ['site-2', 'approved', true],
      ['site-3', 'approved', true],
    ]);
    expect(body.sites.every((s) => s.lastSeenAt !== null)).toBe(true);
  });

  it('gives each site its own DuckDB OMOP CDM v5.4 store', async () => {
    for (const [id, site] of network.sites) {
      expect(site.store.kind).toBe('duckdb');
      expect(site.store.location).toBe(path.join(dir, id, 'omop.duckdb'));
      const [tables] = await site.store.all<{ n: number }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'cdm'",
      );
      // The 39 CDM v5.4 tables and the Medical Imaging extension's image_occurrence.
      expect(tables?.n).toBe(40);
    }
  });

  it('generates the demo hospitals their synthetic FHIR exports on first start', async () => {
    const patients = (site: string) =>
      fs
        .readFile(path.join(network.fhirExportDir!, site, 'Patient.ndjson'), 'utf8')
        .then((t) => t.split('\n').filter(Boolean).length);
    const counts = await Promise.all(['site-1', 'site-2', 'site-3'].map(patients));
    expect(counts.every((n) => n > 0)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(90);
  });

  it("loads each hospital's FHIR export into its OMOP store, mapped through the vocabularies", async () => {
    for (const [id, site] of network.sites) {
      const exported = (await fs.readFile(path.join(network.fhirExportDir!, id, 'Patient.ndjson'), 'utf8'))
        .split('\n')
        .filter(Boolean).length;
      const [persons] = await site.store.all<{ n: number }>('SELECT count(*) AS n FROM cdm.person');
      expect(persons!.n).toBe(exported);
      const [mapped] = await site.store.all<{ n: number }>(
        "SELECT count(*) AS n FROM cdm.condition_occurrence c JOIN cdm.concept k ON k.concept_id = c.condition_source_concept_id WHERE k.vocabulary_id = 'KCD7' AND c.condition_concept_id <> 0",
      );
      expect(mapped!.n).toBeGreaterThan(0);
    }
  });

  it('has each site publish its quality report and profile to the hub', async () => {
    await Promise.all([...network.sites.values()].map((site) => site.reportsPublished()));
    for (const id of ['site-1', 'site-2', 'site-3']) {
      const quality = await getJson<{ report: { overall: { run: number } } }>(
        `${network.url}/api/sites/${id}/quality`,
        {
          headers: admin,
        },
      );
      expect(quality.status).toBe(200);
      expect(quality.body.report.overall.run).toBeGreaterThan(1000);
      const profile = await getJson<{ report: { analyses: { analysisId: number }[] } }>(
        `${network.url}/api/sites/${id}/profile`,
        { headers: admin },
      );
      expect(profile.body.report.analyses.map((a) => a.analysisId)).toContain(401);
    }
  });

  it('creates each site key with mode 0600', async () => {
    for (const id of ['site-1', 'site-2', 'site-3']) {
      const stat = await fs.stat(path.join(dir, id, 'site-key.pem'));
      expect(stat.mode & 0o777).toBe(0o600);
    }
  });

  it('round-trips a signed ping task through every site', async () => {
    for (const id of ['site-1', 'site-2', 'site-3']) {
      const { status, body } = await getJson<{ id: string; status: string; result: { pong: boolean } }>(
        `${network.url}/api/sites/${id}/ping?wait=15`,
        { method: 'POST', headers: admin },
      );
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'done', result: { pong: true } });
      firstPingId ??= body.id;
    }
  });

  it('records every task sent and answered in a verifiable audit log', async () => {
    const { body } = await getJson<{ entries: { action: string; actorType: string; targetId: string }[] }>(
      `${network.url}/api/audit?action=task.&limit=1000`,
      { headers: admin },
    );
    const pings = body.entries.filter((e) => e.targetId === firstPingId).map((e) => [e.action, e.actorType]);
    expect(pings).toEqual([
      ['task.send', 'user'],
      ['task.result', 'site'],
    ]);
    const { body: verdict } = await getJson<{ ok: boolean }>(`${network.url}/api/audit/verify`, {
      method: 'POST',
      headers: admin,
    });
    expect(verdict).toMatchObject({ ok: true });
  });

  it('refuses operator endpoints without a session', async () => {
    const response = await fetch(`${network.url}/api/sites/site-1/ping`, { method: 'POST' });
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('has a site refuse a task forged with another key, even when the hub hands it out', async () => {
    const rogue = generateSigningKeyPair();
    const now = Date.now();
    const body = {
      type: 'ping' as const,
      payload: { message: 'forged' },
      id: randomUUID(),
      siteId: 'site-1',
      permitId: null,
      issuedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + 60_000).toISOString(),
    };
    const forged = { ...signValue(loadPrivateKey(rogue.privateKeyPem), rogue.publicKey, body) };
    await network.hub.ctx.db
      .insertInto('task')
      .values({
        id: body.id,
        site_id: 'site-1',
        type: 'ping',
        permit_id: null,
        signed: JSON.stringify(forged),
        status: 'queued',
        expires_at: new Date(now + 60_000),
      })
      .execute();
    network.hub.ctx.tasks.notify('site-1');
    const { body: task } = await getJson<{ status: string; error: { code: string } }>(
      `${network.url}/api/tasks/${body.id}?wait=15`,
      { headers: admin },
    );
    expect(task).toMatchObject({ status: 'refused', error: { code: 'bad_signature' } });

    // The site's own chained log records the refusal.
    const siteDir = path.join(dir, 'site-1');
    const siteKey = loadPrivateKey(await fs.readFile(path.join(siteDir, 'site-key.pem'), 'utf8'));
    expect(await verifyTaskLog(siteDir, publicKeyFromPrivate(siteKey))).toMatchObject({ ok: true });
    const entries = await readTaskLog(siteDir);
    expect(entries.find((e) => e.targetId === body.id)).toMatchObject({
      action: 'task.refused',
      details: { error: 'bad_signature' },
    });
  });

  it('reports a stopped site as not connected while the others stay connected', async () => {
    await network.stopSite('site-3');
    const health = await waitFor(
      async () => (await getJson<Health>(`${network.url}/api/health`)).body,
      (h) => h.sites.find((s) => s.id === 'site-3')?.connected === false,
    );
    expect(health.sites.map((s) => [s.id, s.connected])).toEqual([
      ['site-1', true],
      ['site-2', true],
      ['site-3', false],
    ]);
  });

  it('keeps its state across a restart', async () => {
    const keyBefore = await fs.readFile(path.join(dir, 'site-1', 'site-key.pem'), 'utf8');
    const truthBefore = (await fs.stat(path.join(dir, 'fhir-export', 'truth', 'model.json'))).mtimeMs;
    await network.stop();
    network = await start(dir);
    expect(await fs.readFile(path.join(dir, 'site-1', 'site-key.pem'), 'utf8')).toBe(keyBefore);
    expect((await fs.stat(path.join(dir, 'fhir-export', 'truth', 'model.json'))).mtimeMs).toBe(truthBefore);
    const health = await waitFor(
      async () => (await getJson<Health>(`${network.url}/api/health`)).body,
      (h) => h.sites.filter((s) => s.connected).length === 3,
    );
    expect(health.sites.map((s) => [s.id, s.status, s.connected])).toEqual([
      ['site-1', 'approved', true],
      ['site-2', 'approved', true],
      ['site-3', 'approved', true],
    ]);
    admin = await adminHeaders(network.url);
    const { status, body } = await getJson<{ status: string }>(`${network.url}/api/tasks/${firstPingId}`, {
      headers: admin,
    });
    expect(status).toBe(200);
    expect(body.status).toBe('done');
  });
});
