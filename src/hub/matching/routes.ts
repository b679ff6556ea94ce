/** HTTP of demand/supply matching: data needs, ranked matches, steward responses. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import '../http/request-context.ts';
import {
  needInputSchema,
  needResponseInputSchema,
  needSummarySchema,
  needViewSchema,
} from '../../protocol/matching.ts';
import type { HubContext } from '../context.ts';
import { closeNeed, getNeed, listNeeds, needToApplication, postNeed, respondToNeed } from './service.ts';

// Roles gate the door; poster and steward-of-a-matched-site are checked in the service.
const poster = {
  kind: 'user',
  roles: ['researcher', 'admin'],
  owner: 'self',
  scope: 'applications:write',
} as const;
const reader = { kind: 'user', roles: [], owner: 'self', scope: 'applications:read' } as const;
const steward = { kind: 'user', roles: ['steward'], owner: 'site', scope: 'applications:write' } as const;
const idParams = z.object({ id: z.uuid() });

export function matchingRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/api/needs', {
    config: { access: poster },
    schema: {
      tags: ['matching'],
      summary: 'Post a data need; the answer ranks the catalog datasets by fit',
      body: needInputSchema,
      response: { 201: needViewSchema },
    },
    handler: async (request, reply) => reply.code(201).send(await postNeed(ctx, request.user!, request.body)),
  });

  r.get('/api/needs', {
    config: { access: reader },
    schema: {
      tags: ['matching'],
      summary: 'Needs I posted, and needs matched to the sites I steward',
      response: { 200: z.object({ needs: z.array(needSummarySchema) }) },
    },
    handler: async (request) => ({ needs: await listNeeds(ctx, request.user!) }),
  });

  r.get('/api/needs/:id', {
    config: { access: reader },
    schema: {
      tags: ['matching'],
      summary: 'A need with its ranked matches (and score breakdown) and the responses',
      params: idParams,
      response: { 200: needViewSchema },
    },
    handler: (request) => getNeed(ctx, request.user!, request.params.id),
  });

  r.post('/api/needs/:id/responses', {
    config: { access: steward },
    schema: {
      tags: ['matching'],
      summary: 'Respond for a matched site: interested, not interested or need more info',
      params: idParams,
      body: needResponseInputSchema,
      response: { 200: needViewSchema },
    },
    handler: (request) => respondToNeed(ctx, request.user!, request.params.id, request.body),
  });

  r.post('/api/needs/:id/close', {
    config: { access: poster },
    schema: {
      tags: ['matching'],
      summary: 'Close my need',
      params: idParams,
      response: { 200: needViewSchema },
    },
    handler: (request) => closeNeed(ctx, request.user!, request.params.id),
  });

  r.post('/api/needs/:id/application', {
    config: { access: poster },
    schema: {
      tags: ['matching'],
      summary: 'Turn my need into an application draft with the interested sites',
      params: idParams,
      response: { 201: z.object({ applicationId: z.string(), need: needViewSchema }) },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await needToApplication(ctx, request.user!, request.params.id)),
  });
}
