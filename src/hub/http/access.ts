/**
 * Every /api route declares who may call it (`config.access`). A route without a
 * declaration makes the hub refuse to start, so no endpoint is open by accident.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ItdaError } from '../../protocol/errors.ts';

export const ROLES = ['researcher', 'steward', 'drb_member', 'irb_officer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type RouteAccess =
  /** Anyone, e.g. health and login. */
  | { kind: 'public' }
  /** A registered, approved site, by its signed request. */
  | { kind: 'site' }
  /** A site proving possession of the key it registers (only the registration route). */
  | { kind: 'site-enrolment' }
  /** A signed-in user with at least one of the roles (any role when `roles` is empty). */
  | { kind: 'user'; roles: readonly Role[] };

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
}

export interface AccessCheckers {
  site(request: FastifyRequest): Promise<void>;
  siteEnrolment(request: FastifyRequest): Promise<void>;
  user(request: FastifyRequest, roles: readonly Role[]): Promise<void>;
}

/** Collected while routes register; the route-rule test reads it. */
export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess;
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
  app.addHook('preHandler', async (request) => {
    const access = request.routeOptions.config.access;
    if (!access) return;
    switch (access.kind) {
      case 'public':
        return;
      case 'site':
        return checkers.site(request);
      case 'site-enrolment':
        return checkers.siteEnrolment(request);
      case 'user':
        return checkers.user(request, access.roles);
      default: {
        const never: never = access;
        throw new ItdaError('internal', `unknown access rule ${JSON.stringify(never)}`);
      }
    }
  });
  return declared;
}
