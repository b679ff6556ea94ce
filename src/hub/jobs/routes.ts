import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { siteIdSchema } from '../../protocol/wire.ts';
import type { HubContext } from '../context.ts';
import { awaitTask, enqueueTask, getTask } from './service.ts';

export const taskViewSchema = z.object({
  id: z.string(),
  siteId: z.string(),
  type: z.string(),
  permitId: z.string().nullable(),
  status: z.enum(['queued', 'delivered', 'done', 'refused', 'failed', 'expired']),
  createdAt: z.string(),
  expiresAt: z.string(),
  deliveredAt: z.string().nullable(),
  completedAt: z.string().nullable(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});

const waitQuery = z.object({ wait: z.coerce.number().int().min(0).max(60).default(0) });

export function jobRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/sites/:id/ping', {
    config: { access: { kind: 'user', roles: ['admin'], owner: 'none', scope: 'admin' } },
    schema: {
      tags: ['tasks'],
      summary: 'Send a signed ping task to a site; optionally wait for its answer',
      params: z.object({ id: siteIdSchema }),
      querystring: waitQuery,
      response: { 200: taskViewSchema },
    },
    handler: async (request) => {
      const task = await enqueueTask(
        ctx,
        request.params.id,
        { type: 'ping', payload: { message: 'ping' } },
        { actor: { actorType: 'user', actorId: request.user!.id } },
      );
      return request.query.wait > 0 ? awaitTask(ctx, task.id, request.query.wait) : task;
    },
  });

  r.get('/api/tasks/:id', {
    config: { access: { kind: 'user', roles: ['admin'], owner: 'none', scope: 'admin' } },
    schema: {
      tags: ['tasks'],
      summary: 'A task and its result',
      params: z.object({ id: z.uuid() }),
      querystring: waitQuery,
      response: { 200: taskViewSchema },
    },
    handler: (request) =>
      request.query.wait > 0
        ? awaitTask(ctx, request.params.id, request.query.wait)
        : getTask(ctx, request.params.id),
  });
}
