/**
 * Every /api route declares who may call it (`config.access`). A route without a
 * declaration makes the hub refuse to start, so no endpoint is open by accident.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiScope, Role } from '../../protocol/auth.ts';
import { ItdaError } from '../../protocol/errors.ts';

export { API_SCOPES, type ApiScope, ROLES, type Role } from '../../protocol/auth.ts';

/**
 * Whose records a user route touches, i.e. the check its service makes beyond the role:
 * - `self`: only the caller's own records (their keys, their profile);
 * - `site`: records of a site the caller holds a site role for (steward, DRB member);
 * - `application`: an application the caller applied for, is a member of, or reviews;
 * - `none`: no ownership — allowed only on read-only routes (catalog, public reports)
 *   and on admin-only routes; test/routes.test.ts enforces this.
 */
export const OWNERSHIP = ['self', 'site', 'application', 'none'] as const;
export type Ownership = (typeof OWNERSHIP)[number];

export interface UserAccess {
  kind: 'user';
  /** At least one of these roles (global, or held for any site); any role when empty. */
  roles: readonly Role[];
  /** The scope an API key needs; without it the route takes no API keys. */
  scope?: ApiScope;
  /** Whose records the route touches (see OWNERSHIP). Every user route states one. */
  owner?: Ownership;
}

export type RouteAccess =
  /** Anyone, e.g. health and login. */
  | { kind: 'public' }
  /** A registered, approved site, by its signed request. */
  | { kind: 'site' }
  /** A site proving possession of the key it registers (only the registration route). */
  | { kind: 'site-enrolment' }
  /** A signed-in user (session cookie, or an API key with the scope). */
  | UserAccess;

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export interface AccessCheckers {
  site(request: FastifyRequest): Promise<void>;
  siteEnrolment(request: FastifyRequest): Promise<void>;
  user(request: FastifyRequest, access: UserAccess): Promise<void>;
  /** Public routes that change state still refuse cross-site browser requests (login CSRF). */
  publicWrite?(request: FastifyRequest): Promise<void>;
}

/** Collected while routes register; the route-rule test reads it. */
export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True for methods that may change state (RFC 9110 §9.2.1 "safe" methods excluded). */
export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

export function installAccessControl(app: FastifyInstance, checkers: AccessCheckers): DeclaredRoute[] {
  const declared: DeclaredRoute[] = [];
  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/api/') || route.url.startsWith('/api/docs')) return;
    const access = route.config?.access;
    if (!access) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access rule (config.access)`);
    }
    for (const method of [route.method].flat())
      declared.push({ method: String(method), url: route.url, access });
  });
  // Before validation: an unauthenticated caller learns nothing from schema errors.
  app.addHook('preValidation', async (request) => {
    const access = request.routeOptions.config.access;
    if (!access) return;
    switch (access.kind) {
      case 'public':
        if (checkers.publicWrite && isStateChanging(request.method)) await checkers.publicWrite(request);
        return;
      case 'site':
        return checkers.site(request);
      case 'site-enrolment':
        return checkers.siteEnrolment(request);
      case 'user':
        return checkers.user(request, access);
      default: {
        const never: never = access;
        throw new ItdaError('internal', `unknown access rule ${JSON.stringify(never)}`);
      }
    }
  });
  return declared;
}
