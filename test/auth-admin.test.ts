/**
 * The admin API over real HTTP, on every hub dialect: organisations, users, roles and
 * site roles, deactivation ending sessions and API keys, every change audited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushAudit } from '../src/hub/audit/service.ts';
import type { PublicUser } from '../src/hub/auth/service.ts';
import { HUB_DIALECTS, startTestHub, type TestHub } from './support/hub.ts';
import { signIn, type TestSession } from './support/session.ts';

const ADMIN_ROUTES: ReadonlyArray<[string, string, unknown?]> = [
  ['GET', '/api/admin/users'],
  ['POST', '/api/admin/users', { email: 'x@test.example', name: 'X', roles: [] }],
  ['PATCH', '/api/admin/users/00000000-0000-4000-8000-000000000000', { name: 'Y' }],
  ['POST', '/api/admin/users/00000000-0000-4000-8000-000000000000/deactivate'],
  ['POST', '/api/admin/organisations', { id: 'acme', nameKo: '가', nameEn: 'A', kind: 'company' }],
  ['PATCH', '/api/admin/organisations/hanbit-ai', { nameEn: 'Renamed' }],
];

describe.each(HUB_DIALECTS)('admin API on %s', (dialect) => {
  let hub: TestHub | undefined;
  let url: string;
  let admin: TestSession;

  beforeAll(async () => {
    hub = await startTestHub(dialect, { seedDemoAccounts: true });
    if (!hub) return;
    url = await hub.listen();
    admin = await signIn(url, 'admin@itda.demo');
    await hub.ctx.db
      .insertInto('site')
      .values(
        ['site-x', 'site-y'].map((id) => ({
          id,
          name: id,
          public_key: `key-${id}`,
          status: 'approved' as const,
          software: 'test',
        })),
      )
      .execute();
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  const auditActions = async (targetId: string) => {
    await flushAudit(hub!.ctx);
    return (
      await hub!.ctx.db
        .selectFrom('audit_entry')
        .select('action')
        .where('target_id', '=', targetId)
        .orderBy('seq')
        .execute()
    ).map((r) => r.action);
  };

  it('keeps researchers, stewards and DRB members out of every admin route', async (t) => {
    if (!hub) return t.skip();
    for (const email of ['researcher@itda.demo', 'steward@itda.demo', 'drb1-a@itda.demo']) {
      const session = await signIn(url, email);
      for (const [method, path, body] of ADMIN_ROUTES) {
        expect({ email, method, path, status: (await session.call(method, path, body)).status }).toEqual({
          email,
          method,
          path,
          status: 403,
        });
      }
    }
    for (const [method, path, body] of ADMIN_ROUTES)
      expect(
        (await fetch(`${url}${path}`, { method, body: body ? JSON.stringify(body) : null })).status,
      ).toBe(401);
  });

  it('creates and renames an organisation, audited', async (t) => {
    if (!hub) return t.skip();
    const created = await admin.json('POST', '/api/admin/organisations', {
      id: 'gangnam-clinic',
      nameKo: '강남의원',
      nameEn: 'Gangnam Clinic',
      kind: 'hospital',
    });
    expect(created.status).toBe(201);
    const again = await admin.json('POST', '/api/admin/organisations', {
      id: 'gangnam-clinic',
      nameKo: '다른',
      nameEn: 'Other',
      kind: 'company',
    });
    expect(again.status).toBe(409);
    const renamed = await admin.json<{ organisation: { nameEn: string; kind: string } }>(
      'PATCH',
      '/api/admin/organisations/gangnam-clinic',
      { nameEn: 'Gangnam Medical Clinic' },
    );
    expect(renamed.body.organisation).toMatchObject({ nameEn: 'Gangnam Medical Clinic', kind: 'hospital' });
    const list = await (await signIn(url, 'researcher@itda.demo')).json<{ organisations: { id: string }[] }>(
      'GET',
      '/api/organisations',
    );
    expect(list.body.organisations.map((o) => o.id)).toContain('gangnam-clinic');
    expect(await auditActions('gangnam-clinic')).toEqual([
      'admin.organisation_created',
      'admin.organisation_updated',
    ]);
  });

  it('creates a user with site roles, changes them, and the user sees the change', async (t) => {
    if (!hub) return t.skip();
    const created = await admin.json<{ user: PublicUser }>('POST', '/api/admin/users', {
      email: 'Reviewer@Test.Example',
      name: 'Reviewer',
      password: 'reviewer-password',
      roles: [],
      organisationId: 'busan-bada',
      siteRoles: [{ siteId: 'site-x', role: 'drb_member' }],
    });
    expect(created.status).toBe(201);
    expect(created.body.user).toMatchObject({
      email: 'reviewer@test.example',
      organisationId: 'busan-bada',
      siteRoles: [{ siteId: 'site-x', role: 'drb_member' }],
      active: true,
    });
    const id = created.body.user.id;
    const unknownSite = await admin.json('PATCH', `/api/admin/users/${id}`, {
      siteRoles: [{ siteId: 'no-such-site', role: 'steward' }],
    });
    expect(unknownSite.status).toBe(400);
    const unknownOrg = await admin.json('PATCH', `/api/admin/users/${id}`, { organisationId: 'nowhere' });
    expect(unknownOrg.status).toBe(400);

    const reviewer = await signIn(url, 'reviewer@test.example', 'reviewer-password');
    const changed = await admin.json<{ user: PublicUser }>('PATCH', `/api/admin/users/${id}`, {
      roles: ['researcher'],
      siteRoles: [
        { siteId: 'site-y', role: 'steward' },
        { siteId: 'site-x', role: 'drb_member' },
      ],
    });
    expect(changed.status).toBe(200);
    // The open session sees the new roles on its next request.
    const me = await reviewer.json<{ user: PublicUser }>('GET', '/api/auth/me');
    expect(me.body.user.roles).toEqual(['researcher']);
    expect(me.body.user.siteRoles).toEqual([
      { siteId: 'site-x', role: 'drb_member' },
      { siteId: 'site-y', role: 'steward' },
    ]);
    const list = await admin.json<{ users: PublicUser[] }>('GET', '/api/admin/users');
    expect(list.body.users.find((u) => u.id === id)?.siteRoles).toHaveLength(2);
    expect(list.body.users.length).toBeGreaterThan(20);
    expect(JSON.stringify(list.body)).not.toMatch(/argon2|password/);
    expect(await auditActions(id)).toEqual(['admin.user_created', 'admin.user_updated']);
  });

  it("ends a deactivated user's sessions and API keys, and refuses their sign-in", async (t) => {
    if (!hub) return t.skip();
    const created = await admin.json<{ user: PublicUser }>('POST', '/api/admin/users', {
      email: 'leaving@test.example',
      name: 'Leaving',
      password: 'leaving-password',
      roles: ['researcher'],
    });
    const id = created.body.user.id;
    const session = await signIn(url, 'leaving@test.example', 'leaving-password');
    const key = await session.json<{ token: string }>('POST', '/api/auth/keys', {
      name: 'script',
      scopes: ['catalog:read'],
    });
    const withKey = () =>
      fetch(`${url}/api/auth/me`, { headers: { authorization: `Bearer ${key.body.token}` } });
    expect((await session.call('GET', '/api/auth/me')).status).toBe(200);
    expect((await withKey()).status).toBe(200);

    const deactivated = await admin.json<{ user: PublicUser }>('POST', `/api/admin/users/${id}/deactivate`);
    expect(deactivated.body.user.active).toBe(false);
    expect((await session.call('GET', '/api/auth/me')).status).toBe(401);
    expect((await withKey()).status).toBe(401);
    await expect(signIn(url, 'leaving@test.example', 'leaving-password')).rejects.toThrow(/401/);
    expect(await auditActions(id)).toEqual(['admin.user_created', 'admin.user_deactivated']);

    // Reactivated, the account signs in again (the old session stays ended).
    await admin.json('PATCH', `/api/admin/users/${id}`, { active: true });
    expect((await session.call('GET', '/api/auth/me')).status).toBe(401);
    expect(
      (await (await signIn(url, 'leaving@test.example', 'leaving-password')).call('GET', '/api/auth/me'))
        .status,
    ).toBe(200);
  });

  it('does not let an admin lock themself out', async (t) => {
    if (!hub) return t.skip();
    const me = await admin.json<{ user: PublicUser }>('GET', '/api/auth/me');
    expect((await admin.json('POST', `/api/admin/users/${me.body.user.id}/deactivate`)).status).toBe(409);
    expect(
      (await admin.json('PATCH', `/api/admin/users/${me.body.user.id}`, { roles: ['researcher'] })).status,
    ).toBe(409);
    expect((await admin.call('GET', '/api/admin/users')).status).toBe(200);
  });
});
