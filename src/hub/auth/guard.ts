/**
 * Who is calling a user route: an API key (`Authorization: Bearer itda_…`) or the session
 * cookie. Session requests that change state must pass the CSRF checks (OWASP CSRF
 * Prevention Cheat Sheet): no cross-site `Sec-Fetch-Site` or `Origin`, and the
 * double-submit token — the `itda_csrf` cookie echoed in `x-csrf-token`, bound to the
 * session by its hash. Key requests carry no ambient credential, so they are exempt.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ItdaError } from '../../protocol/errors.ts';
import { sha256Hex } from '../../protocol/signing.ts';
import type { HubContext } from '../context.ts';
import { isStateChanging, type UserAccess } from '../http/access.ts';
import { CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE } from '../http/request-context.ts';
import { authenticateApiKey } from './api-keys.ts';
import { hasRole, sessionFor } from './service.ts';

/** Authenticates and authorizes a user route's request; sets `request.user` and `request.auth`. */
export async function authenticateUserRequest(
  ctx: HubContext,
  request: FastifyRequest,
  access: UserAccess,
): Promise<void> {
  const bearer = bearerToken(request.headers.authorization);
  if (bearer !== undefined) {
    const { user, key } = await authenticateApiKey(ctx, bearer);
    if (!access.scope) throw new ItdaError('forbidden', 'this route does not accept API keys; sign in');
    if (!key.scopes.includes(access.scope))
      throw new ItdaError('forbidden', `the API key lacks the scope ${access.scope}`);
    request.user = user;
    request.auth = { via: 'api_key', apiKeyId: key.id };
  } else {
    const session = await sessionFor(ctx, request.cookies[SESSION_COOKIE]);
    if (!session) throw new ItdaError('unauthenticated', 'sign in first');
    if (isStateChanging(request.method)) {
      refuseCrossSite(request);
      checkCsrfToken(request, session.csrfHash);
    }
    request.user = session.user;
    request.auth = { via: 'session' };
  }
  const user = request.user;
  if (access.roles.length > 0 && !access.roles.some((role) => hasRole(user, role))) {
    throw new ItdaError('forbidden', `needs one of the roles: ${access.roles.join(', ')}`);
  }
}

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ItdaError('unauthenticated', 'Authorization must be "Bearer <API key>"');
  return match[1];
}

/**
 * Refuses a browser request sent from another site. Browsers set `Sec-Fetch-Site` (Fetch
 * Metadata) and `Origin` on state-changing requests; clients without either (scripts,
 * tests) pass on to the token check.
 */
export function refuseCrossSite(request: FastifyRequest): void {
  const fetchSite = request.headers['sec-fetch-site'];
  if (fetchSite !== undefined && fetchSite !== 'same-origin' && fetchSite !== 'none') {
    throw new ItdaError('forbidden', `cross-site request refused (Sec-Fetch-Site: ${String(fetchSite)})`);
  }
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let originHost: string | undefined;
  try {
    originHost = origin === 'null' ? undefined : new URL(origin).host;
  } catch {
    originHost = undefined;
  }
  if (!originHost || originHost !== request.headers.host) {
    throw new ItdaError('forbidden', `cross-site request refused (Origin: ${origin})`);
  }
}

function checkCsrfToken(request: FastifyRequest, csrfHash: string | null): void {
  const header = request.headers[CSRF_HEADER];
  const sent = Array.isArray(header) ? header[0] : header;
  const cookie = request.cookies[CSRF_COOKIE];
  if (!sent || !cookie || !csrfHash) {
    throw new ItdaError(
      'forbidden',
      `missing CSRF token: send the ${CSRF_COOKIE} cookie's value in ${CSRF_HEADER}`,
    );
  }
  if (!constantTimeEqual(sent, cookie) || !constantTimeEqual(sha256Hex(sent), csrfHash)) {
    throw new ItdaError('forbidden', 'CSRF token does not match this session');
  }
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
