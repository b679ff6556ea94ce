import type { FastifyInstance } from 'fastify';
import '../http/request-context.ts';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HubContext } from '../context.ts';
import { ROLES } from '../http/access.ts';
import { SESSION_COOKIE } from '../http/request-context.ts';
import { login, logout } from './service.ts';

export const publicUserSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  roles: z.array(z.enum(ROLES)),
});

export function authRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/auth/login', {
    config: { access: { kind: 'public' } },
    schema: {
      tags: ['auth'],
      summary: 'Sign in; sets an httpOnly session cookie',
      body: z.object({ email: z.string().min(3).max(320), password: z.string().min(1).max(1000) }),
      response: { 200: z.object({ user: publicUserSchema }) },
    },
    handler: async (request, reply) => {
      const session = await login(ctx, request.body.email, request.body.password);
      reply.setCookie(SESSION_COOKIE, session.token, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        expires: session.expiresAt,
      });
      return { user: session.user };
    },
  });

  r.get('/api/auth/me', {
    config: { access: { kind: 'user', roles: [] } },
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
      return reply.code(204).send();
    },
  });
}
