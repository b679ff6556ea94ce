import type {} from '@fastify/cookie';
import type { PublicUser } from '../auth/service.ts';
import type { SiteRow } from '../sites/store.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received; site signatures cover these bytes. */
    rawBody?: string;
    /** Set by the `site` access rule. */
    site?: SiteRow;
    /** Set by the `user` access rule. */
    user?: PublicUser;
    /** How the `user` access rule authenticated the caller. */
    auth?: { via: 'session' } | { via: 'api_key'; apiKeyId: string };
  }
}

export const SESSION_COOKIE = 'itda_session';
/** Readable by the web app, which echoes it in CSRF_HEADER (double-submit). */
export const CSRF_COOKIE = 'itda_csrf';
export const CSRF_HEADER = 'x-csrf-token';
