import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { MAX_FEASIBILITY_TIMEOUT_SECONDS } from '../../protocol/feasibility.ts';
import type { HubContext } from '../context.ts';
import { FEASIBILITY_ACCESS } from '../feasibility/routes.ts';
import {
  BEACON_PATHS,
  beaconFilteringTermsResponseSchema,
  beaconIndividualsResponseSchema,
  beaconInfoResponseSchema,
  beaconQueryStringSchema,
  beaconRequestBodySchema,
} from './schema.ts';
import { beaconIndividuals, getBeaconInfo, getFilteringTerms } from './service.ts';

const signedIn = { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } as const;

const timeout = z.coerce.number().int().min(1).max(MAX_FEASIBILITY_TIMEOUT_SECONDS).optional();

export function beaconRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(BEACON_PATHS.info, {
    config: { access: signedIn },
    schema: {
      tags: ['beacon'],
      summary: 'Beacon v2 info: this beacon and the granularities it answers',
      response: { 200: beaconInfoResponseSchema },
    },
    handler: () => getBeaconInfo(ctx),
  });

  r.get(BEACON_PATHS.filteringTerms, {
    config: { access: signedIn },
    schema: {
      tags: ['beacon'],
      summary: 'Beacon v2 filtering terms: sex, age, and standard concepts of the hub vocabulary',
      querystring: z.object({
        skip: z.coerce.number().int().min(0).default(0),
        limit: z.coerce.number().int().min(1).max(1000).default(100),
      }),
      response: { 200: beaconFilteringTermsResponseSchema },
    },
    handler: (request) => getFilteringTerms(ctx, request.query),
  });

  r.get(BEACON_PATHS.individuals, {
    // A beacon query is a feasibility query of the caller's own (history, differencing, audit).
    config: { access: FEASIBILITY_ACCESS },
    schema: {
      tags: ['beacon'],
      summary: 'Beacon v2 individuals (GET): counts per site for comma-separated concept filters',
      querystring: beaconQueryStringSchema.extend({ timeoutSeconds: timeout }),
      response: { 200: beaconIndividualsResponseSchema },
    },
    handler: (request) => {
      const { filters, timeoutSeconds, ...rest } = request.query;
      const ids = (filters ?? '')
        .split(',')
        .map((id) => id.trim())
        .filter(Boolean);
      return beaconIndividuals(
        ctx,
        request.user!,
        { ...rest, filters: ids.map((id) => ({ id })) },
        { timeoutSeconds },
      );
    },
  });

  r.post(BEACON_PATHS.individuals, {
    config: { access: FEASIBILITY_ACCESS },
    schema: {
      tags: ['beacon'],
      summary: 'Beacon v2 individuals (POST): counts per site for ontology and alphanumeric filters',
      body: beaconRequestBodySchema,
      querystring: z.object({ timeoutSeconds: timeout }),
      response: { 200: beaconIndividualsResponseSchema },
    },
    handler: (request) =>
      beaconIndividuals(ctx, request.user!, request.body.query, {
        timeoutSeconds: request.query.timeoutSeconds,
      }),
  });
}
