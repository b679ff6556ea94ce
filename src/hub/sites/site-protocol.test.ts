import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HUB_DIALECTS, startTestHub, type TestHub } from '../../../test/support/hub.ts';
import { generateSigningKeyPair, loadPrivateKey, signRequest, verifyValue } from '../../protocol/signing.ts';
import type { RegistrationReply, SignedTask } from '../../protocol/wire.ts';
import { createUser } from '../auth/service.ts';
import { enqueueTask } from '../jobs/service.ts';

const TOKEN = 'test-enrolment-token-0123456789';

interface TestSite {
  id: string;
  key: KeyObject;
  publicKey: string;
}

function newSite(id: string): TestSite {
  const pair = generateSigningKeyPair();
  return { id, key: loadPrivateKey(pair.privateKeyPem), publicKey: pair.publicKey };
}

async function signedInject(
  hub: TestHub,
  site: TestSite,
  method: 'GET' | 'POST' | 'PUT',
  url: string,
  body?: unknown,
) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const headers = {
    ...signRequest(site.key, { method, path: url, body: payload, siteId: site.id }),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  return { headers, response: await hub.app.inject({ method, url, headers, payload }) };
}

async function register(hub: TestHub, site: TestSite, token?: string) {
  return signedInject(hub, site, 'POST', '/api/sites', {
    name: `Hospital ${site.id}`,
    publicKey: site.publicKey,
    software: 'test',
    ...(token ? { enrolmentToken: token } : {}),
  });
}

describe.each(HUB_DIALECTS)('site protocol on %s', (dialect) => {
  let hub: TestHub | undefined;
  const a = newSite('site-a');
  beforeAll(async () => {
    hub = await startTestHub(dialect, { enrolmentToken: TOKEN });
    if (hub) expect((await register(hub, a, TOKEN)).response.statusCode).toBe(200);
  });
  afterAll(async () => {
    await hub?.dispose();
  });

  it('registers with an enrolment token as approved and returns the hub key', async (t) => {
    if (!hub) return t.skip();
    const site = newSite('site-reg');
    const { response } = await register(hub, site, TOKEN);
    const reply = response.json<RegistrationReply>();
    expect(reply).toMatchObject({
      siteId: 'site-reg',
      status: 'approved',
      hubPublicKey: hub.ctx.keys.publicKey,
    });
  });

  it('keeps a site without the token pending, and refuses its polls', async (t) => {
    if (!hub) return t.skip();
    const site = newSite('site-pending');
    expect((await register(hub, site, 'wrong-token-wrong-token')).response.json()).toMatchObject({
      status: 'pending',
    });
    const { response } = await signedInject(hub, site, 'GET', '/api/sites/site-pending/tasks?wait=0');
    expect(response.statusCode).toBe(403);
    expect(response.json()).toMatchObject({ code: 'site_not_approved' });
  });

  it('refuses to register an id already bound to another key', async (t) => {
    if (!hub) return t.skip();
    const impostor = newSite('site-a');
    const { response } = await register(hub, impostor, TOKEN);
    expect(response.statusCode).toBe(409);
  });

  it('refuses an unsigned request with 401 problem+json', async (t) => {
    if (!hub) return t.skip();
    const response = await hub.app.inject({ method: 'GET', url: '/api/sites/site-a/tasks?wait=0' });
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(response.json()).toMatchObject({ status: 401, code: 'unauthenticated', title: 'Unauthorized' });
  });

  it('refuses a request signed by the wrong key', async (t) => {
    if (!hub) return t.skip();
    const forger = { ...newSite('site-a') };
    const { response } = await signedInject(hub, forger, 'GET', '/api/sites/site-a/tasks?wait=0');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'bad_signature' });
  });

  it('refuses a tampered body', async (t) => {
    if (!hub) return t.skip();
    const url = '/api/tasks/00000000-0000-4000-8000-000000000000/result';
    const body = JSON.stringify({ outcome: 'done' });
    const headers = {
      ...signRequest(a.key, { method: 'POST', path: url, body, siteId: a.id }),
      'content-type': 'application/json',
    };
    const response = await hub.app.inject({
      method: 'POST',
      url,
      headers,
      payload: JSON.stringify({ outcome: 'failed' }),
    });
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'bad_signature' });
  });

  it('refuses a replayed request (same nonce twice)', async (t) => {
    if (!hub) return t.skip();
    const url = '/api/sites/site-a/tasks?wait=0';
    const { headers, response } = await signedInject(hub, a, 'GET', url);
    expect(response.statusCode).toBe(200);
    const replay = await hub.app.inject({ method: 'GET', url, headers });
    expect(replay.statusCode).toBe(401);
    expect(replay.json()).toMatchObject({ code: 'replayed_request' });
  });

  it('refuses an unregistered site', async (t) => {
    if (!hub) return t.skip();
    const stranger = newSite('site-nobody');
    const { response } = await signedInject(hub, stranger, 'GET', '/api/sites/site-nobody/tasks?wait=0');
    expect(response.statusCode).toBe(401);
    expect(response.json()).toMatchObject({ code: 'unknown_site' });
  });

  it("refuses a site polling another site's queue", async (t) => {
    if (!hub) return t.skip();
    const { response } = await signedInject(hub, a, 'GET', '/api/sites/site-reg/tasks?wait=0');
    expect(response.statusCode).toBe(403);
  });

  it('hands out a hub-signed task once, and records the signed result', async (t) => {
    if (!hub) return t.skip();
    const queued = await enqueueTask(hub.ctx, 'site-a', { type: 'ping', payload: { message: 'hello' } });
    const first = await signedInject(hub, a, 'GET', '/api/sites/site-a/tasks?wait=0');
    const tasks = first.response.json<{ tasks: SignedTask[] }>().tasks;
    expect(tasks.map((x) => x.body.id)).toEqual([queued.id]);
    expect(verifyValue(hub.ctx.keys.publicKey, tasks[0]!)).toBe(true);
    const again = await signedInject(hub, a, 'GET', '/api/sites/site-a/tasks?wait=0');
    expect(again.response.json<{ tasks: SignedTask[] }>().tasks).toEqual([]);

    const result = { outcome: 'done', result: { pong: true } };
    const posted = await signedInject(hub, a, 'POST', `/api/tasks/${queued.id}/result`, result);
    expect(posted.response.statusCode).toBe(200);
    expect(posted.response.json()).toMatchObject({ status: 'done', result: { pong: true } });
    const twice = await signedInject(hub, a, 'POST', `/api/tasks/${queued.id}/result`, result);
    expect(twice.response.statusCode).toBe(409);
  });

  it('wakes a waiting long-poll as soon as a task is queued', async (t) => {
    if (!hub) return t.skip();
    const started = Date.now();
    const poll = signedInject(hub, a, 'GET', '/api/sites/site-a/tasks?wait=20');
    await new Promise((r) => setTimeout(r, 300));
    const queued = await enqueueTask(hub.ctx, 'site-a', { type: 'ping', payload: { message: 'wake' } });
    const { response } = await poll;
    expect(response.json<{ tasks: SignedTask[] }>().tasks.map((x) => x.body.id)).toEqual([queued.id]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('lists sites in health with connection state', async (t) => {
    if (!hub) return t.skip();
    const health = (await hub.app.inject({ method: 'GET', url: '/api/health' })).json();
    expect(health).toMatchObject({ status: 'ok', database: dialect });
    const siteA = health.sites.find((s: { id: string }) => s.id === 'site-a');
    expect(siteA).toMatchObject({ status: 'approved', connected: true });
    expect(health.sites.find((s: { id: string }) => s.id === 'site-pending')).toMatchObject({
      connected: false,
    });
  });

  it('stores a published quality report and serves the latest to signed-in users', async (t) => {
    if (!hub) return t.skip();
    const tally = { run: 2, passed: 1, failed: 1, notApplicable: 0, errors: 0, percentPassed: 50 };
    const report = (generatedAt: string) => ({
      generatedAt,
      cdmVersion: '5.4',
      overall: tally,
      byCategory: [{ ...tally, context: 'Verification', category: 'Plausibility' }],
      checks: [],
    });
    const older = await signedInject(
      hub,
      a,
      'PUT',
      '/api/sites/site-a/quality',
      report('2026-01-01T00:00:00.000Z'),
    );
    expect(older.response.statusCode).toBe(200);
    await signedInject(hub, a, 'PUT', '/api/sites/site-a/quality', report('2026-02-01T00:00:00.000Z'));

    const bad = await signedInject(hub, a, 'PUT', '/api/sites/site-a/quality', { generatedAt: 'yesterday' });
    expect(bad.response.statusCode).toBe(400);
    expect(bad.response.json()).toMatchObject({ code: 'validation_failed' });
    const forOther = await signedInject(
      hub,
      a,
      'PUT',
      '/api/sites/site-reg/quality',
      report('2026-03-01T00:00:00.000Z'),
    );
    expect(forOther.response.statusCode).toBe(403);

    expect((await hub.app.inject({ method: 'GET', url: '/api/sites/site-a/quality' })).statusCode).toBe(401);
    await createUser(hub.ctx, {
      email: 'reader@test',
      name: 'Reader',
      password: 'reader-password',
      roles: ['researcher'],
    });
    const login = await hub.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { email: 'reader@test', password: 'reader-password' },
    });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const latest = await hub.app.inject({
      method: 'GET',
      url: '/api/sites/site-a/quality',
      headers: { cookie },
    });
    expect(latest.json()).toMatchObject({
      siteId: 'site-a',
      kind: 'quality',
      generatedAt: '2026-02-01T00:00:00.000Z',
    });
    const none = await hub.app.inject({
      method: 'GET',
      url: '/api/sites/site-a/profile',
      headers: { cookie },
    });
    expect(none.statusCode).toBe(404);
  });
});
