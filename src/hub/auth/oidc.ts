/**
 * Optional OpenID Connect sign-in (OpenID Connect Core 1.0, authorization code flow with
 * PKCE per RFC 7636), through `openid-client`. The state, nonce and code verifier travel
 * in a short-lived httpOnly cookie signed with the hub key, so any hub process can finish
 * a sign-in another began. Users are matched by issuer subject, then by verified e-mail;
 * a new verified e-mail becomes a researcher account.
 */
import { randomUUID } from 'node:crypto';
import * as client from 'openid-client';
import { ItdaError } from '../../protocol/errors.ts';
import { signString, verifyString } from '../../protocol/signing.ts';
import { audit } from '../audit/service.ts';
import type { OidcConfig } from '../config.ts';
import type { HubContext } from '../context.ts';
import { type NewSession, openSession } from './service.ts';
import { findUserByEmail, findUserByOidcSubject, insertUser, type UserRow, updateUser } from './store.ts';

export const OIDC_COOKIE = 'itda_oidc';
/** How long the user may take at the issuer. */
export const OIDC_FLOW_TTL_MS = 10 * 60 * 1000;

interface FlowState {
  state: string;
  nonce: string;
  verifier: string;
  expiresAt: number;
}

// Discovery once per configuration; a failed discovery is retried on the next sign-in.
const discovered = new WeakMap<OidcConfig, Promise<client.Configuration>>();

function issuerConfiguration(config: OidcConfig): Promise<client.Configuration> {
  let pending = discovered.get(config);
  if (!pending) {
    const issuer = new URL(config.issuer);
    // Plain HTTP only for an issuer on this machine (config.ts refuses it elsewhere).
    const options = issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : undefined;
    pending = client.discovery(issuer, config.clientId, config.clientSecret, undefined, options);
    pending.catch(() => discovered.delete(config));
    discovered.set(config, pending);
  }
  return pending;
}

function requireOidc(ctx: HubContext): OidcConfig {
  if (!ctx.config.oidc) throw new ItdaError('not_found', 'OpenID Connect sign-in is not configured');
  return ctx.config.oidc;
}

async function reachIssuer(config: OidcConfig): Promise<client.Configuration> {
  try {
    return await issuerConfiguration(config);
  } catch (error) {
    throw new ItdaError(
      'unavailable',
      `OpenID Connect issuer ${config.issuer} unreachable: ${messageOf(error)}`,
    );
  }
}

export function oidcEnabled(ctx: HubContext): boolean {
  return ctx.config.oidc !== undefined;
}

/** Starts a sign-in: where to send the browser, and the signed flow cookie to set. */
export async function beginOidcLogin(ctx: HubContext): Promise<{ redirectTo: string; flowCookie: string }> {
  const config = requireOidc(ctx);
  const configuration = await reachIssuer(config);
  const flow: FlowState = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier: client.randomPKCECodeVerifier(),
    expiresAt: Date.now() + OIDC_FLOW_TTL_MS,
  };
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: config.redirectUrl,
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(flow.verifier),
    code_challenge_method: 'S256',
    state: flow.state,
    nonce: flow.nonce,
  });
  const payload = Buffer.from(JSON.stringify(flow)).toString('base64url');
  return { redirectTo: url.href, flowCookie: `${payload}.${signString(ctx.keys.privateKey, payload)}` };
}

function readFlowCookie(ctx: HubContext, cookie: string | undefined): FlowState {
  const [payload, signature] = (cookie ?? '').split('.');
  if (!payload || !signature || !verifyString(ctx.keys.publicKey, payload, signature))
    throw new ItdaError('unauthenticated', 'OpenID Connect sign-in was not started here; start again');
  const flow = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as FlowState;
  if (flow.expiresAt < Date.now())
    throw new ItdaError('unauthenticated', 'OpenID Connect sign-in took too long; start again');
  return flow;
}

/**
 * Finishes a sign-in at the callback: exchanges the code (with the PKCE verifier),
 * validates the ID token (signature, issuer, audience, expiry, nonce) and opens a session.
 */
export async function completeOidcLogin(
  ctx: HubContext,
  callbackQuery: string,
  flowCookie: string | undefined,
): Promise<NewSession> {
  const config = requireOidc(ctx);
  const flow = readFlowCookie(ctx, flowCookie);
  const configuration = await reachIssuer(config);
  const callbackUrl = new URL(config.redirectUrl);
  callbackUrl.search = callbackQuery;
  let claims: client.IDToken | undefined;
  try {
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: flow.verifier,
      expectedState: flow.state,
      expectedNonce: flow.nonce,
      idTokenExpected: true,
    });
    claims = tokens.claims();
  } catch (error) {
    await audit(ctx, {
      actorType: 'user',
      action: 'auth.login_failed',
      details: { method: 'oidc', reason: messageOf(error) },
    });
    throw new ItdaError('unauthenticated', `OpenID Connect sign-in failed: ${messageOf(error)}`);
  }
  if (!claims) throw new ItdaError('unauthenticated', 'the issuer sent no ID token');
  const row = await matchUser(ctx, config, claims);
  await audit(ctx, { actorType: 'user', actorId: row.id, action: 'auth.login', details: { method: 'oidc' } });
  return openSession(ctx, row);
}

async function matchUser(ctx: HubContext, config: OidcConfig, claims: client.IDToken): Promise<UserRow> {
  // The subject is unique per issuer (OIDC Core §2), so the stored key is issuer + subject.
  const subject = `${config.issuer}#${claims.sub}`;
  const refuse = async (reason: string, userId: string | null = null) => {
    await audit(ctx, {
      actorType: 'user',
      actorId: userId,
      action: 'auth.login_failed',
      details: { method: 'oidc', subject, reason },
    });
    return new ItdaError('unauthenticated', reason);
  };
  let row = await findUserByOidcSubject(ctx.db, subject);
  if (!row) {
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
    if (!email || claims.email_verified !== true)
      throw await refuse('the issuer did not vouch for an e-mail address (email_verified)');
    const existing = await findUserByEmail(ctx.db, email);
    if (existing?.oidc_subject) throw await refuse(`${email} is linked to another sign-in`, existing.id);
    if (existing) {
      row = (await updateUser(ctx.db, existing.id, { oidcSubject: subject }))!;
    } else {
      row = await insertUser(ctx.db, {
        id: randomUUID(),
        email,
        name: typeof claims.name === 'string' && claims.name.trim() ? claims.name.trim() : email,
        passwordHash: null,
        roles: ['researcher'],
        oidcSubject: subject,
      });
      await audit(ctx, {
        actorType: 'user',
        actorId: row.id,
        action: 'auth.oidc_user_created',
        targetType: 'user',
        targetId: row.id,
        details: { email, subject },
      });
    }
  }
  if (!row.active) throw await refuse('this account is deactivated', row.id);
  return row;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
