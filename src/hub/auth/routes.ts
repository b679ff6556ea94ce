import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import '../http/request-context.ts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { API_SCOPES, apiKeyViewSchema, publicUserSchema } from '../../protocol/auth.ts';
import type { HubContext } from '../context.ts';
import { CSRF_COOKIE, SESSION_COOKIE } from '../http/request-context.ts';
import { adminRoutes } from './admin-routes.ts';
import { createApiKey, listOwnApiKeys, revokeOwnApiKey } from './api-keys.ts';
import { beginOidcLogin, completeOidcLogin, OIDC_COOKIE, OIDC_FLOW_TTL_MS, oidcEnabled } from './oidc.ts';
import { login, logout, type NewSession } from './service.ts';

export { publicUserSchema };

/** Sets the httpOnly session cookie and the readable CSRF cookie the web app echoes. */
export function setSessionCookies(request: FastifyRequest, reply: FastifyReply, session: NewSession): void {
  const common = {
    path: '/',
    sameSite: 'lax',
    secure: request.protocol === 'https',
    expires: session.expiresAt,
  } as const;
  reply.setCookie(SESSION_COOKIE, session.token, { ...common, httpOnly: true });
  reply.setCookie(CSRF_COOKIE, session.csrfToken, { ...common, httpOnly: false });
}

export function authRoutes(app: FastifyInstance, ctx: HubContext): void {
  adminRoutes(app, ctx);
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/auth/login', {
    config: { access: { kind: 'public' } },
    schema: {
      tags: ['auth'],
      summary: 'Sign in; sets an httpOnly session cookie and the itda_csrf cookie',
      description:
        'Five failures for one account from one address within 15 minutes (or 20 for the account, 50 for the address) answer 429 with Retry-After.',
      body: z.object({ email: z.string().min(3).max(320), password: z.string().min(1).max(1000) }),
      response: { 200: z.object({ user: publicUserSchema }) },
    },
    handler: async (request, reply) => {
      const session = await login(ctx, request.body.email, request.body.password, { ip: request.ip });
      setSessionCookies(request, reply, session);
      return { user: session.user };
    },
  });

  r.get('/api/auth/oidc', {
    config: { access: { kind: 'public' } },
    schema: {
      tags: ['auth'],
      summary: 'Whether OpenID Connect sign-in is configured',
      response: { 200: z.object({ enabled: z.boolean() }) },
    },
    handler: async () => ({ enabled: oidcEnabled(ctx) }),
  });

  r.get('/api/auth/oidc/login', {
    config: { access: { kind: 'public' } },
    schema: { tags: ['auth'], summary: 'Start OpenID Connect sign-in (redirects to the issuer)' },
    handler: async (request, reply) => {
      const { redirectTo, flowCookie } = await beginOidcLogin(ctx);
      reply.setCookie(OIDC_COOKIE, flowCookie, {
        path: '/api/auth/oidc',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: OIDC_FLOW_TTL_MS / 1000,
      });
      return reply.redirect(redirectTo, 302);
    },
  });

  r.get('/api/auth/oidc/callback', {
    config: { access: { kind: 'public' } },
    schema: {
      tags: ['auth'],
      summary: 'Where the issuer sends the browser back; signs in and goes to the app',
    },
    handler: async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const session = await completeOidcLogin(ctx, query, request.cookies[OIDC_COOKIE]);
      reply.clearCookie(OIDC_COOKIE, { path: '/api/auth/oidc' });
      setSessionCookies(request, reply, session);
      return reply.redirect('/', 302);
    },
  });

  r.get('/api/auth/me', {
    config: { access: { kind: 'user', roles: [], owner: 'self', scope: 'catalog:read' } },
    schema: {
      tags: ['auth'],
      summary: 'The signed-in user',
      response: { 200: z.object({ user: publicUserSchema }) },
    },
    handler: async (request) => ({ user: request.user! }),
  });

  r.post('/api/auth/logout', {
    config: { access: { kind: 'public' } },
    schema: { tags: ['auth'], summary: 'Sign out' },
    handler: async (request, reply) => {
      await logout(ctx, request.cookies[SESSION_COOKIE]);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      reply.clearCookie(CSRF_COOKIE, { path: '/' });
      return reply.code(204).send();
    },
  });

  r.get('/api/auth/keys', {
    config: { access: { kind: 'user', roles: [], owner: 'self' } },
    schema: {
      tags: ['auth'],
      summary: "The signed-in user's API keys (never their secrets)",
      response: { 200: z.object({ keys: z.array(apiKeyViewSchema) }) },
    },
    handler: async (request) => ({ keys: await listOwnApiKeys(ctx, request.user!) }),
  });

  r.post('/api/auth/keys', {
    config: { access: { kind: 'user', roles: [], owner: 'self' } },
    schema: {
      tags: ['auth'],
      summary: 'Create an API key; the key itself is in this reply only',
      body: z.object({
        name: z.string().trim().min(1).max(100),
        scopes: z.array(z.enum(API_SCOPES)).min(1),
        expiresAt: z.iso.datetime({ offset: true }).nullable().optional(),
      }),
      response: { 201: z.object({ key: apiKeyViewSchema, token: z.string() }) },
    },
    handler: async (request, reply) => {
      const { expiresAt, ...rest } = request.body;
      const created = await createApiKey(ctx, request.user!, {
        ...rest,
        expiresAt: expiresAt ? new Date(expiresAt) : null,
      });
      return reply.code(201).send(created);
    },
  });

  r.delete('/api/auth/keys/:id', {
    config: { access: { kind: 'user', roles: [], owner: 'self' } },
    schema: {
      tags: ['auth'],
      summary: 'Revoke one of your API keys',
      params: z.object({ id: z.string().min(1).max(64) }),
      response: { 200: z.object({ key: apiKeyViewSchema }) },
    },
    handler: async (request) => ({ key: await revokeOwnApiKey(ctx, request.user!, request.params.id) }),
  });
}
