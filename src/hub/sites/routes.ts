import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ItdaError } from '../../protocol/errors.ts';
import { profileReportSchema, qualityReportSchema } from '../../protocol/reports.ts';
import { readSignatureHeaders } from '../../protocol/signing.ts';
import {
  registrationReplySchema,
  siteIdSchema,
  siteRegistrationSchema,
  taskPollReplySchema,
  taskResultSchema,
} from '../../protocol/wire.ts';
import type { HubContext } from '../context.ts';
import { taskViewSchema } from '../jobs/routes.ts';
import { pollSite, recordTaskResult } from '../jobs/service.ts';
import { latestReport, publishReport } from './reports.ts';
import { approveSite, registerSite, type SignedCall } from './service.ts';

export function signedCall(request: FastifyRequest): SignedCall {
  return {
    parts: readSignatureHeaders(request.headers),
    method: request.method,
    path: request.url,
    body: request.rawBody ?? '',
  };
}

/** The signed site must be the one named in the path. */
function requireSameSite(request: FastifyRequest, siteId: string): void {
  if (request.site?.id !== siteId) throw new ItdaError('forbidden', 'a site may only act for itself');
}

export function siteRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/sites', {
    config: { access: { kind: 'site-enrolment' } },
    schema: {
      tags: ['sites'],
      summary: 'Register a site (signed with the key being registered)',
      body: siteRegistrationSchema,
      response: { 200: registrationReplySchema },
    },
    handler: (request) => registerSite(ctx, signedCall(request), request.body),
  });

  r.get('/api/sites/:id/tasks', {
    config: { access: { kind: 'site' } },
    schema: {
      tags: ['sites'],
      summary: 'Long-poll for signed tasks',
      params: z.object({ id: siteIdSchema }),
      querystring: z.object({ wait: z.coerce.number().int().min(0).max(60).default(30) }),
      response: { 200: taskPollReplySchema },
    },
    handler: async (request, reply) => {
      requireSameSite(request, request.params.id);
      const abort = new AbortController();
      reply.raw.on('close', () => abort.abort());
      const signal = AbortSignal.any([abort.signal, ctx.shutdown]);
      return pollSite(ctx, request.params.id, request.query.wait, signal);
    },
  });

  r.post('/api/tasks/:id/result', {
    config: { access: { kind: 'site' } },
    schema: {
      tags: ['sites'],
      summary: "Post a task's result",
      params: z.object({ id: z.uuid() }),
      body: taskResultSchema,
      response: { 200: taskViewSchema },
    },
    handler: (request) => recordTaskResult(ctx, request.site!.id, request.params.id, request.body),
  });

  r.post('/api/sites/:id/approve', {
    config: { access: { kind: 'user', roles: ['admin'], owner: 'none', scope: 'admin' } },
    schema: {
      tags: ['sites'],
      summary: 'Approve a pending site (operator)',
      params: z.object({ id: siteIdSchema }),
    },
    handler: async (request, reply) => {
      await approveSite(ctx, { actorType: 'user', actorId: request.user!.id }, request.params.id);
      return reply.code(204).send();
    },
  });

  const reportSchemas = { quality: qualityReportSchema, profile: profileReportSchema } as const;
  for (const kind of ['quality', 'profile'] as const) {
    r.put(`/api/sites/:id/${kind}`, {
      config: { access: { kind: 'site' } },
      schema: {
        tags: ['sites'],
        summary: `Publish the site's latest ${kind} report (aggregates only)`,
        params: z.object({ id: siteIdSchema }),
        body: reportSchemas[kind],
        response: { 200: z.object({ receivedAt: z.string() }) },
      },
      handler: async (request) => {
        requireSameSite(request, request.params.id);
        return publishReport(ctx, request.params.id, kind, request.body);
      },
    });

    r.get(`/api/sites/:id/${kind}`, {
      config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
      schema: {
        tags: ['sites'],
        summary: `The latest ${kind} report a site published`,
        params: z.object({ id: siteIdSchema }),
        response: {
          200: z.object({
            siteId: z.string(),
            kind: z.literal(kind),
            generatedAt: z.string(),
            receivedAt: z.string(),
            report: reportSchemas[kind],
          }),
        },
      },
      handler: (request) => latestReport(ctx, request.params.id, kind),
    });
  }
}
