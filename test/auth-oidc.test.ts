/**
 * OpenID Connect sign-in against a tiny issuer in this process (discovery document, JWKS,
 * token endpoint signing ID tokens with a key made here) — no network beyond loopback.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublicUser } from '../src/hub/auth/service.ts';
import { HUB_DIALECTS, startTestHub, type TestHub } from './support/hub.ts';

const CLIENT_ID = 'itda-hub';
const CLIENT_SECRET = 'test-client-secret';

interface Identity {
  sub: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
}

/** The issuer's side of the authorization-code flow, with PKCE checked at the token endpoint. */
class FakeIssuer {
  readonly url: string;
  private readonly codes = new Map<
    string,
    { identity: Identity; nonce: string; challenge: string; redirectUri: string }
  >();
  private readonly keys: { privateKey: KeyObject; publicKey: KeyObject };
  readonly tokenRequests: URLSearchParams[] = [];

  private constructor(
    private readonly server: http.Server,
    port: number,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  }

  static async start(): Promise<FakeIssuer> {
    let issuer: FakeIssuer | undefined;
    const server = http.createServer((req, res) => issuer!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = new FakeIssuer(server, (server.address() as net.AddressInfo).port);
    return issuer;
  }

  /** What the issuer's login page does once the user has signed in there: a code for the client. */
  authorize(authorizeUrl: URL, identity: Identity): string {
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${this.url}/authorize`);
    const p = authorizeUrl.searchParams;
    expect(p.get('response_type')).toBe('code');
    expect(p.get('client_id')).toBe(CLIENT_ID);
    expect(p.get('code_challenge_method')).toBe('S256');
    const code = randomBytes(16).toString('hex');
    this.codes.set(code, {
      identity,
      nonce: p.get('nonce')!,
      challenge: p.get('code_challenge')!,
      redirectUri: p.get('redirect_uri')!,
    });
    const back = new URL(p.get('redirect_uri')!);
    back.searchParams.set('code', code);
    back.searchParams.set('state', p.get('state')!);
    return back.search;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): unknown {
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: this.url,
        authorization_endpoint: `${this.url}/authorize`,
        token_endpoint: `${this.url}/token`,
        jwks_uri: `${this.url}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      });
    }
    if (req.url === '/jwks') {
      return json(200, {
        keys: [{ ...this.keys.publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
      });
    }
    if (req.url === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const form = new URLSearchParams(body);
        this.tokenRequests.push(form);
        const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
        const clientOk =
          req.headers.authorization === `Basic ${basic}` ||
          (form.get('client_id') === CLIENT_ID && form.get('client_secret') === CLIENT_SECRET);
        if (!clientOk) return json(401, { error: 'invalid_client' });
        const grant = this.codes.get(form.get('code') ?? '');
        this.codes.delete(form.get('code') ?? '');
        const challenge = createHash('sha256')
          .update(form.get('code_verifier') ?? '')
          .digest('base64url');
        if (!grant || grant.challenge !== challenge || grant.redirectUri !== form.get('redirect_uri'))
          return json(400, { error: 'invalid_grant' });
        const now = Math.floor(Date.now() / 1000);
        return json(200, {
          access_token: randomBytes(16).toString('hex'),
          token_type: 'Bearer',
          expires_in: 300,
          id_token: this.idToken({
            iss: this.url,
            aud: CLIENT_ID,
            iat: now,
            exp: now + 300,
            nonce: grant.nonce,
            ...grant.identity,
          }),
        });
      });
      return;
    }
    json(404, { error: 'not_found' });
  }

  /** A compact JWS (RFC 7515) with RS256. */
  private idToken(claims: Record<string, unknown>): string {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const input = `${part({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${part(claims)}`;
    return `${input}.${sign('sha256', Buffer.from(input), this.keys.privateKey).toString('base64url')}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const cookiesOf = (response: Response) => response.headers.getSetCookie().map((c) => c.split(';')[0]!);

describe.each(HUB_DIALECTS)('OpenID Connect sign-in on %s', (dialect) => {
  let issuer: FakeIssuer;
  let hub: TestHub | undefined;
  let url: string;

  beforeAll(async () => {
    issuer = await FakeIssuer.start();
    const port = await freePort();
    hub = await startTestHub(dialect, {
      port,
      seedDemoAccounts: true,
      oidc: {
        issuer: issuer.url,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        redirectUrl: `http://127.0.0.1:${port}/api/auth/oidc/callback`,
      },
    });
    if (hub) url = await hub.listen();
  }, 60_000);
  afterAll(async () => {
    await hub?.dispose();
    await issuer.close();
  });

  /** The browser's part: start at the hub, sign in at the issuer, come back to the callback. */
  async function signInThroughIssuer(identity: Identity, tamper?: (query: string) => string) {
    const start = await fetch(`${url}/api/auth/oidc/login`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const flowCookie = cookiesOf(start).find((c) => c.startsWith('itda_oidc='))!;
    expect(flowCookie).toBeDefined();
    const query = issuer.authorize(new URL(start.headers.get('location')!), identity);
    return fetch(`${url}/api/auth/oidc/callback${tamper ? tamper(query) : query}`, {
      redirect: 'manual',
      headers: { cookie: flowCookie },
    });
  }

  const me = async (response: Response) => {
    const cookie = cookiesOf(response).join('; ');
    const reply = await fetch(`${url}/api/auth/me`, { headers: { cookie } });
    return {
      status: reply.status,
      user: reply.status === 200 ? ((await reply.json()) as { user: PublicUser }).user : undefined,
    };
  };

  it('says it is enabled', async (t) => {
    if (!hub) return t.skip();
    expect(await (await fetch(`${url}/api/auth/oidc`)).json()).toEqual({ enabled: true });
  });

  it('creates a researcher for a new verified e-mail and signs the same subject in again', async (t) => {
    if (!hub) return t.skip();
    const identity = {
      sub: 'u-100',
      email: 'New.Person@Hospital.example',
      email_verified: true,
      name: '새사람 New Person',
    };
    const first = await signInThroughIssuer(identity);
    expect(first.status).toBe(302);
    expect(first.headers.get('location')).toBe('/');
    expect(cookiesOf(first).some((c) => c.startsWith('itda_csrf='))).toBe(true);
    const created = await me(first);
    expect(created.user).toMatchObject({
      email: 'new.person@hospital.example',
      name: '새사람 New Person',
      roles: ['researcher'],
    });
    // PKCE: the token request carried the verifier of the challenge the issuer saw.
    expect(issuer.tokenRequests.at(-1)?.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,128}$/);

    const again = await me(await signInThroughIssuer({ ...identity, email: 'changed@hospital.example' }));
    expect(again.user?.id).toBe(created.user?.id);
  });

  it('links an existing account by verified e-mail', async (t) => {
    if (!hub) return t.skip();
    const linked = await me(
      await signInThroughIssuer({ sub: 'u-200', email: 'researcher@itda.demo', email_verified: true }),
    );
    expect(linked.user).toMatchObject({ email: 'researcher@itda.demo', organisationId: 'hangang-univ' });
    // A different subject claiming the same e-mail is refused.
    const other = await signInThroughIssuer({
      sub: 'u-201',
      email: 'researcher@itda.demo',
      email_verified: true,
    });
    expect(other.status).toBe(401);
  });

  it('refuses an unverified e-mail, a wrong state, a replayed code and a callback it did not start', async (t) => {
    if (!hub) return t.skip();
    const unverified = await signInThroughIssuer({
      sub: 'u-300',
      email: 'steward@itda.demo',
      email_verified: false,
    });
    expect(unverified.status).toBe(401);
    expect(await unverified.text()).toMatch(/email_verified/);

    const wrongState = await signInThroughIssuer(
      { sub: 'u-301', email: 'x@hospital.example', email_verified: true },
      (q) => q.replace(/state=[^&]+/, 'state=forged'),
    );
    expect(wrongState.status).toBe(401);

    const start = await fetch(`${url}/api/auth/oidc/login`, { redirect: 'manual' });
    const query = issuer.authorize(new URL(start.headers.get('location')!), {
      sub: 'u-302',
      email: 'y@hospital.example',
      email_verified: true,
    });
    const noCookie = await fetch(`${url}/api/auth/oidc/callback${query}`, { redirect: 'manual' });
    expect(noCookie.status).toBe(401);
    const forgedCookie = await fetch(`${url}/api/auth/oidc/callback${query}`, {
      redirect: 'manual',
      headers: { cookie: 'itda_oidc=eyJzdGF0ZSI6IngifQ.AAAA' },
    });
    expect(forgedCookie.status).toBe(401);
    const flowCookie = cookiesOf(start).find((c) => c.startsWith('itda_oidc='))!;
    const used = await fetch(`${url}/api/auth/oidc/callback${query}`, {
      redirect: 'manual',
      headers: { cookie: flowCookie },
    });
    expect(used.status).toBe(302);
    const replayed = await fetch(`${url}/api/auth/oidc/callback${query}`, {
      redirect: 'manual',
      headers: { cookie: flowCookie },
    });
    expect(replayed.status).toBe(401);
  });

  it('refuses a deactivated account', async (t) => {
    if (!hub) return t.skip();
    await hub.ctx.db
      .updateTable('app_user')
      .set({ active: false })
      .where('email', '=', 'irb@itda.demo')
      .execute();
    const refused = await signInThroughIssuer({ sub: 'u-400', email: 'irb@itda.demo', email_verified: true });
    expect(refused.status).toBe(401);
    expect(await refused.text()).toMatch(/deactivated/);
  });
});

describe('OpenID Connect configuration', () => {
  it('is all or nothing, and https unless the issuer is on this machine', async () => {
    const { loadHubConfig } = await import('../src/hub/config.ts');
    expect(loadHubConfig({}).oidc).toBeUndefined();
    expect(() => loadHubConfig({ ITDA_OIDC_ISSUER: 'https://id.example' })).toThrow(
      /ITDA_OIDC_CLIENT_ID, ITDA_OIDC_REDIRECT_URL: required/,
    );
    const full = {
      ITDA_OIDC_ISSUER: 'http://id.example',
      ITDA_OIDC_CLIENT_ID: 'c',
      ITDA_OIDC_REDIRECT_URL: 'https://hub.example/api/auth/oidc/callback',
    };
    expect(() => loadHubConfig(full)).toThrow(/ITDA_OIDC_ISSUER: must be https/);
    expect(loadHubConfig({ ...full, ITDA_OIDC_ISSUER: 'https://id.example' }).oidc).toMatchObject({
      issuer: 'https://id.example',
      clientSecret: undefined,
    });
  });
});
