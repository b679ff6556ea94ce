import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DeclaredRoute,
  installAccessControl,
  isStateChanging,
  OWNERSHIP,
} from '../src/hub/http/access.ts';
import { startTestHub, type TestHub } from './support/hub.ts';

/**
 * Every user route states whose records it touches. `none` is allowed only where no
 * ownership can apply: read-only routes, and routes only an admin may call.
 */
function ownershipProblems(routes: readonly DeclaredRoute[]): string[] {
  return routes.flatMap(({ method, url, access }) => {
    if (access.kind !== 'user') return [];
    const where = `${method} ${url}`;
    if (!access.owner) return [`${where}: declares no owner`];
    if (!OWNERSHIP.includes(access.owner)) return [`${where}: unknown owner ${access.owner}`];
    const adminOnly = access.roles.length === 1 && access.roles[0] === 'admin';
    if (access.owner === 'none' && isStateChanging(method) && !adminOnly)
      return [`${where}: owner 'none' on a state-changing route that is not admin-only`];
    return [];
  });
}

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

  it('every user route declares its ownership rule', () => {
    expect(hub.routes.filter((r) => r.access.kind === 'user').length).toBeGreaterThan(5);
    expect(ownershipProblems(hub.routes)).toEqual([]);
  });

  it('the ownership check catches a missing owner and a writable route owned by no one', () => {
    const routes: DeclaredRoute[] = [
      { method: 'GET', url: '/api/a', access: { kind: 'user', roles: [] } },
      { method: 'POST', url: '/api/b', access: { kind: 'user', roles: ['researcher'], owner: 'none' } },
      { method: 'POST', url: '/api/c', access: { kind: 'user', roles: ['admin'], owner: 'none' } },
      { method: 'GET', url: '/api/d', access: { kind: 'user', roles: [], owner: 'none' } },
      { method: 'PATCH', url: '/api/e', access: { kind: 'user', roles: [], owner: 'self' } },
    ];
    expect(ownershipProblems(routes)).toEqual([
      'GET /api/a: declares no owner',
      "POST /api/b: owner 'none' on a state-changing route that is not admin-only",
    ]);
  });

  it('refuses to start with a route that declares no rule', async () => {
    const app = Fastify();
    installAccessControl(app, { site: async () => {}, siteEnrolment: async () => {}, user: async () => {} });
    app.get('/api/declared', { config: { access: { kind: 'public' } } }, async () => 'ok');
    expect(() => app.get('/api/undeclared', async () => 'open')).toThrow(/declares no access rule/);
    await app.close();
  });
});
