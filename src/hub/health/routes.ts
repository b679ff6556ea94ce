import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Health, healthSchema } from '../../protocol/wire.ts';
import type { HubContext } from '../context.ts';
import { sitesForHealth } from '../sites/service.ts';
import { HUB_VERSION } from '../version.ts';

export async function health(ctx: HubContext): Promise<Health> {
  return { status: 'ok', version: HUB_VERSION, database: ctx.databaseKind, sites: await sitesForHealth(ctx) };
}

export function healthRoutes(app: FastifyInstance, ctx: HubContext): void {
  app.withTypeProvider<ZodTypeProvider>().get('/api/health', {
    config: { access: { kind: 'public' } },
    schema: {
      tags: ['health'],
      summary: 'Version, database kind, and the sites with their last-seen time',
      response: { 200: healthSchema },
    },
    handler: () => health(ctx),
  });
}
