/**
 * Accounts and API security over real HTTP, on every hub dialect: organisations and
 * per-site roles, CSRF, API key scopes, login rate limiting.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushAudit } from '../src/hub/audit/service.ts';
import { DEMO_SITE_ACCOUNTS } from '../src/hub/auth/demo-accounts.ts';
import { LOGIN_LIMITS } from '../src/hub/auth/rate-limit.ts';
import { hasRole, isDrbMemberOf, isStewardOf, login, type PublicUser } from '../src/hub/auth/service.ts';
import type { ItdaError } from '../src/protocol/errors.ts';
import { HUB_DIALECTS, startTestHub, type TestHub } from './support/hub.ts';
import { signIn, type TestSession } from './support/session.ts';

type Me = { user: PublicUser };

async function loginStatus(
  url: string,
  email: string,
  password: string,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ email, password }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after') };
}

describe.each(HUB_DIALECTS)('accounts and API security on %s', (dialect) => {
  let hub: TestHub | undefined;
  let url: string;
  let researcher: TestSession;
  let admin: TestSession;

  beforeAll(async () => {
    hub = await startTestHub(dialect, { seedDemoAccounts: true });
    if (!hub) return;
    url = await hub.listen();
    [researcher, admin] = await Promise.all([
      signIn(url, 'researcher@itda.demo'),
      signIn(url, 'admin@itda.demo'),
    ]);
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
  });

  it('seeds organisations, the steward of all three sites and five DRB members per site', async (t) => {
    if (!hub) return t.skip();
    const steward = await (await signIn(url, 'steward@itda.demo')).json<Me>('GET', '/api/auth/me');
    expect(steward.body.user.siteRoles).toEqual([
      { siteId: 'site-1', role: 'steward' },
      { siteId: 'site-2', role: 'steward' },
      { siteId: 'site-3', role: 'steward' },
    ]);
    const external = await (await signIn(url, 'drb2-d@itda.demo')).json<Me>('GET', '/api/auth/me');
    expect(external.body.user).toMatchObject({
      organisationId: 'hangang-univ',
      siteRoles: [{ siteId: 'site-2', role: 'drb_member' }],
    });
    const members = await hub.ctx.db
      .selectFrom('user_site_role')
      .innerJoin('app_user', 'app_user.id', 'user_site_role.user_id')
      .leftJoin('organisation', 'organisation.id', 'app_user.organisation_id')
      .select(['user_site_role.site_id', 'organisation.kind'])
      .where('user_site_role.role', '=', 'drb_member')
      .execute();
    for (const site of ['site-1', 'site-2', 'site-3']) {
      const board = members.filter((m) => m.site_id === site);
      expect(board.length).toBeGreaterThanOrEqual(5);
      expect(board.filter((m) => m.kind !== 'hospital').length).toBeGreaterThanOrEqual(2);
    }
    expect(DEMO_SITE_ACCOUNTS.filter((a) => a.external).length).toBe(6);
  });

  it('answers the per-site role questions services ask', async (t) => {
    if (!hub) return t.skip();
    const { body } = await (await signIn(url, 'drb1-a@itda.demo')).json<Me>('GET', '/api/auth/me');
    expect(isDrbMemberOf(body.user, 'site-1')).toBe(true);
    expect(isDrbMemberOf(body.user, 'site-2')).toBe(false);
    expect(isStewardOf(body.user, 'site-1')).toBe(false);
    expect(hasRole(body.user, 'drb_member')).toBe(true);
    expect(hasRole(body.user, 'admin')).toBe(false);
    const steward1 = await (await signIn(url, 'steward1@itda.demo')).json<Me>('GET', '/api/auth/me');
    expect(isStewardOf(steward1.body.user, 'site-1')).toBe(true);
    expect(isStewardOf(steward1.body.user, 'site-3')).toBe(false);
  });

  it('refuses a cookie request that changes state without the CSRF token, accepts it with the token', async (t) => {
    if (!hub) return t.skip();
    const body = JSON.stringify({ name: 'csrf probe', scopes: ['catalog:read'] });
    const post = (headers: Record<string, string>) =>
      fetch(`${url}/api/auth/keys`, { method: 'POST', headers, body });
    const cookieOnly = { cookie: researcher.cookie, 'content-type': 'application/json' };
    const without = await post(cookieOnly);
    expect(without.status).toBe(403);
    expect(await without.text()).toMatch(/CSRF/);
    expect((await post({ ...cookieOnly, 'x-csrf-token': 'forged-token' })).status).toBe(403);
    // Another session's token does not fit this session's cookie.
    expect((await post({ ...cookieOnly, 'x-csrf-token': admin.headers()['x-csrf-token']! })).status).toBe(
      403,
    );
    expect((await post(researcher.headers({ origin: 'https://evil.example' }))).status).toBe(403);
    expect((await post(researcher.headers({ 'sec-fetch-site': 'cross-site' }))).status).toBe(403);
    expect((await post(researcher.headers({ 'sec-fetch-site': 'same-origin', origin: url }))).status).toBe(
      201,
    );
    expect((await post(researcher.headers())).status).toBe(201);
    // Reading needs no token.
    expect((await fetch(`${url}/api/auth/me`, { headers: { cookie: researcher.cookie } })).status).toBe(200);
    // Signing in from another site is refused too (login CSRF).
    expect(
      (await loginStatus(url, 'researcher@itda.demo', 'itda-demo', { origin: 'https://evil.example' }))
        .status,
    ).toBe(403);
  });

  it('lets an API key do only what its scopes allow', async (t) => {
    if (!hub) return t.skip();
    const create = async (session: TestSession, scopes: string[], extra: Record<string, unknown> = {}) => {
      const reply = await session.json<{ key: { id: string }; token: string }>('POST', '/api/auth/keys', {
        name: `key ${scopes.join(' ')}`,
        scopes,
        ...extra,
      });
      expect(reply.status).toBe(201);
      expect(reply.body.token).toMatch(/^itda_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      return reply.body;
    };
    const bearer = (token: string, path: string, method = 'GET') =>
      fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });

    const reader = await create(researcher, ['catalog:read']);
    expect((await bearer(reader.token, '/api/auth/me')).status).toBe(200);
    // The key is not stored: only its hash.
    const stored = await hub.ctx.db
      .selectFrom('api_key')
      .selectAll()
      .where('id', '=', reader.key.id)
      .executeTakeFirstOrThrow();
    // The secret is base64url and may itself hold '_', so it is everything after `itda_<id>_`.
    const secret = reader.token.slice(`itda_${reader.key.id}_`.length);
    expect(secret).toHaveLength(43);
    expect(JSON.stringify(stored)).not.toContain(secret);
    // A researcher's key cannot reach admin routes, whatever its scopes.
    expect((await bearer(reader.token, '/api/audit')).status).toBe(403);
    // Routes without a scope take no keys: a key cannot mint keys.
    expect((await bearer(reader.token, '/api/auth/keys')).status).toBe(403);
    // Sending a key in a state-changing request needs no CSRF token (no ambient credential).
    expect((await bearer(reader.token, '/api/audit/verify', 'POST')).status).toBe(403);

    const adminReader = await create(admin, ['catalog:read']);
    expect((await bearer(adminReader.token, '/api/audit')).status).toBe(403);
    const adminKey = await create(admin, ['admin']);
    expect((await bearer(adminKey.token, '/api/audit')).status).toBe(200);
    expect((await bearer(adminKey.token, '/api/audit/verify', 'POST')).status).toBe(200);
    expect((await researcher.json('POST', '/api/auth/keys', { name: 'x', scopes: ['admin'] })).status).toBe(
      403,
    );

    // Revoked: refused; another user cannot revoke it (not found).
    expect((await admin.call('DELETE', `/api/auth/keys/${reader.key.id}`)).status).toBe(404);
    expect((await researcher.call('DELETE', `/api/auth/keys/${reader.key.id}`)).status).toBe(200);
    expect((await bearer(reader.token, '/api/auth/me')).status).toBe(401);
    // Expired: refused.
    const soon = await create(researcher, ['catalog:read'], {
      expiresAt: new Date(Date.now() + 60_000).toISOString(),
    });
    expect((await bearer(soon.token, '/api/auth/me')).status).toBe(200);
    await sql`update api_key set expires_at = now() - interval '1 second' where id = ${soon.key.id}`.execute(
      hub.ctx.db,
    );
    expect((await bearer(soon.token, '/api/auth/me')).status).toBe(401);
    // Tampered secret and malformed header: refused.
    const last = adminKey.token.at(-1) === 'A' ? 'B' : 'A';
    expect((await bearer(`${adminKey.token.slice(0, -1)}${last}`, '/api/audit')).status).toBe(401);
    expect((await fetch(`${url}/api/auth/me`, { headers: { authorization: 'Basic abc' } })).status).toBe(401);

    const listed = await researcher.json<{ keys: { id: string; revokedAt: string | null }[] }>(
      'GET',
      '/api/auth/keys',
    );
    expect(listed.body.keys.find((k) => k.id === reader.key.id)?.revokedAt).not.toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain('secret');
  });

  it('ends the session on sign-out and records it', async (t) => {
    if (!hub) return t.skip();
    const session = await signIn(url, 'drb2-a@itda.demo');
    const { body } = await session.json<Me>('GET', '/api/auth/me');
    const out = await session.call('POST', '/api/auth/logout');
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join(';')).toMatch(/itda_session=;.*itda_csrf=;/);
    expect((await session.call('GET', '/api/auth/me')).status).toBe(401);
    await flushAudit(hub.ctx);
    const entries = await hub.ctx.db
      .selectFrom('audit_entry')
      .select('actor_id')
      .where('action', '=', 'auth.logout')
      .execute();
    expect(entries.map((e) => e.actor_id)).toContain(body.user.id);
  });

  it('keeps a researcher out of admin routes', async (t) => {
    if (!hub) return t.skip();
    expect((await researcher.call('GET', '/api/audit')).status).toBe(403);
    expect((await researcher.call('POST', '/api/audit/verify')).status).toBe(403);
    expect((await researcher.call('POST', '/api/sites/site-1/approve')).status).toBe(403);
    expect((await admin.call('GET', '/api/audit')).status).toBe(200);
  });

  it('limits one account across addresses and one address across accounts', async (t) => {
    if (!hub) return t.skip();
    const attempt = (email: string, ip: string) =>
      login(hub!.ctx, email, 'wrong-password', { ip }).then(
        () => 'ok',
        (error: ItdaError) => error.code,
      );
    // 20 failures for one account, four per address: the account limit, not the pair limit.
    for (let i = 0; i < LOGIN_LIMITS.account; i++)
      expect(await attempt('drb1-e@itda.demo', `10.0.${Math.floor(i / 4)}.1`)).toBe('unauthenticated');
    expect(await attempt('drb1-e@itda.demo', '10.9.9.9')).toBe('rate_limited');
    // 50 failures from one address over many accounts, at most four each.
    for (let i = 0; i < LOGIN_LIMITS.ip; i++)
      expect(await attempt(`nobody${Math.floor(i / 4)}@itda.demo`, '10.1.1.1')).toBe('unauthenticated');
    expect(await attempt('someone-else@itda.demo', '10.1.1.1')).toBe('rate_limited');
    expect(await attempt('someone-else@itda.demo', '10.1.1.2')).toBe('unauthenticated');
  }, 120_000);

  it('answers 429 with Retry-After after five failures for one account from one address', async (t) => {
    if (!hub) return t.skip();
    const email = 'drb3-c@itda.demo';
    for (let i = 0; i < 5; i++) expect((await loginStatus(url, email, 'wrong-password')).status).toBe(401);
    const limited = await loginStatus(url, email, 'wrong-password');
    expect(limited.status).toBe(429);
    expect(Number(limited.retryAfter)).toBeGreaterThan(800);
    expect(Number(limited.retryAfter)).toBeLessThanOrEqual(900);
    // The right password does not get through while the window is full.
    expect((await loginStatus(url, email, 'itda-demo')).status).toBe(429);
    // Other accounts from the same address are not locked out by it.
    expect((await loginStatus(url, 'drb3-b@itda.demo', 'itda-demo')).status).toBe(200);
    await flushAudit(hub.ctx);
    const refused = await hub.ctx.db
      .selectFrom('audit_entry')
      .select('details')
      .where('action', '=', 'auth.login_rate_limited')
      .execute();
    expect(refused.map((r) => r.details.email)).toContain(email);
    // Once the failures leave the window, sign-in works again.
    await sql`update login_failure set at = at - interval '16 minutes' where email = ${email}`.execute(
      hub.ctx.db,
    );
    expect((await loginStatus(url, email, 'itda-demo')).status).toBe(200);
  });
});
