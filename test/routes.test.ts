import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAccessControl } from '../src/hub/http/access.ts';
import { startTestHub, type TestHub } from './support/hub.ts';

describe('route access rules', () => {
  let hub: TestHub;
  beforeAll(async () => {
    hub = (await startTestHub('pglite'))!;
  });
  afterAll(async () => {
    await hub.dispose();
  });

  it('every /api route in the OpenAPI document declares who may call it', async () => {
    const doc = (await hub.app.inject({ method: 'GET', url: '/api/docs/json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    const documented = Object.entries(doc.paths).flatMap(([p, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} ${p.replaceAll(/\{(\w+)\}/g, ':$1')}`),
    );
    const declared = new Set(hub.routes.map((r) => `${r.method} ${r.url}`));
    expect(documented.length).toBeGreaterThan(5);
    expect(documented.filter((route) => !declared.has(route))).toEqual([]);
  });

  it('refuses to start with a route that declares no rule', async () => {
    const app = Fastify();
    installAccessControl(app, { site: async () => {}, siteEnrolment: async () => {}, user: async () => {} });
    app.get('/api/declared', { config: { access: { kind: 'public' } } }, async () => 'ok');
    expect(() => app.get('/api/undeclared', async () => 'open')).toThrow(/declares no access rule/);
    await app.close();
  });
});
