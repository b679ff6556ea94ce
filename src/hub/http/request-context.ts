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
  }
}

export const SESSION_COOKIE = 'itda_session';
