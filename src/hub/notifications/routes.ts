/** HTTP of the inbox: the caller's own notifications only. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import '../http/request-context.ts';
import { inboxPageSchema, inboxQuerySchema, notificationViewSchema } from '../../protocol/notifications.ts';
import type { HubContext } from '../context.ts';
import { startMailer, stopMailer } from './mailer.ts';
import { inbox, markNotificationRead, unreadCount } from './service.ts';

const own = { kind: 'user', roles: [], owner: 'self' } as const;

export function notificationRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  startMailer(ctx);
  app.addHook('onClose', () => stopMailer(ctx));

  r.get('/api/notifications', {
    config: { access: own },
    schema: {
      tags: ['notifications'],
      summary: 'My notifications, unread first, paged',
      querystring: inboxQuerySchema,
      response: { 200: inboxPageSchema },
    },
    handler: (request) => inbox(ctx, request.user!.id, request.query),
  });

  r.get('/api/notifications/unread-count', {
    config: { access: own },
    schema: {
      tags: ['notifications'],
      summary: 'How many of my notifications are unread',
      response: { 200: z.object({ unread: z.number().int() }) },
    },
    handler: async (request) => ({ unread: await unreadCount(ctx, request.user!.id) }),
  });

  r.post('/api/notifications/:id/read', {
    config: { access: own },
    schema: {
      tags: ['notifications'],
      summary: 'Mark one of my notifications read',
      params: z.object({ id: z.uuid() }),
      response: { 200: notificationViewSchema },
    },
    handler: (request) => markNotificationRead(ctx, request.user!.id, request.params.id),
  });
}
