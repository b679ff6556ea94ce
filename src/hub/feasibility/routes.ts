import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  FEASIBILITY_PATHS,
  feasibilityQueryListSchema,
  feasibilityQueryViewSchema,
  feasibilityRequestSchema,
  MAX_FEASIBILITY_WAIT_SECONDS,
} from '../../protocol/feasibility.ts';
import type { HubContext } from '../context.ts';
import { getFeasibilityQuery, listFeasibilityQueries, submitFeasibilityQuery } from './service.ts';

// Researchers see only their own queries (the service checks the owner).
export const FEASIBILITY_ACCESS = {
  kind: 'user',
  roles: ['researcher', 'admin'],
  owner: 'self',
  scope: 'feasibility:run',
} as const;

export function feasibilityRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(FEASIBILITY_PATHS.queries, {
    config: { access: FEASIBILITY_ACCESS },
    schema: {
      tags: ['feasibility'],
      summary: 'Submit a Circe cohort definition; every chosen site counts it and answers disclosed counts',
      body: feasibilityRequestSchema,
      response: { 202: feasibilityQueryViewSchema },
    },
    handler: async (request, reply) => {
      const view = await submitFeasibilityQuery(ctx, request.user!, request.body);
      return reply.code(202).send(view);
    },
  });

  r.get(FEASIBILITY_PATHS.queries, {
    config: { access: FEASIBILITY_ACCESS },
    schema: {
      tags: ['feasibility'],
      summary: "The signed-in user's feasibility queries, newest first",
      response: { 200: feasibilityQueryListSchema },
    },
    handler: (request) => listFeasibilityQueries(ctx, request.user!),
  });

  r.get(FEASIBILITY_PATHS.query, {
    config: { access: FEASIBILITY_ACCESS },
    schema: {
      tags: ['feasibility'],
      summary: 'A feasibility query: per-site status, counts as they left each site, totals, attrition',
      params: z.object({ id: z.uuid() }),
      querystring: z.object({
        wait: z.coerce.number().int().min(0).max(MAX_FEASIBILITY_WAIT_SECONDS).default(0),
      }),
      response: { 200: feasibilityQueryViewSchema },
    },
    handler: (request) => getFeasibilityQuery(ctx, request.user!, request.params.id, request.query.wait),
  });
}
