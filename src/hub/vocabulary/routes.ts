import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HubContext } from '../context.ts';
import { findConcepts } from './service.ts';

export const conceptHitSchema = z.object({
  conceptId: z.number().int(),
  name: z.string(),
  domainId: z.string(),
  vocabularyId: z.string(),
  conceptClassId: z.string(),
  standardConcept: z.string().nullable(),
  code: z.string(),
  invalidReason: z.string().nullable(),
  synonyms: z.array(z.object({ name: z.string(), languageConceptId: z.number().int() })),
  match: z.enum(['code', 'prefix', 'ngram']),
});

export function vocabularyRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/api/concepts', {
    config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
    schema: {
      tags: ['vocabulary'],
      summary: 'Search concepts by code, name or synonym (Korean too), ranked',
      querystring: z.object({
        q: z.string().min(1).max(200),
        domain: z.string().max(20).optional(),
        vocabulary: z.string().max(20).optional(),
        standard: z
          .enum(['true', 'false'])
          .transform((v) => v === 'true')
          .optional(),
        limit: z.coerce.number().int().min(1).max(200).default(20),
      }),
      response: { 200: z.object({ concepts: z.array(conceptHitSchema) }) },
    },
    handler: async (request) => ({ concepts: await findConcepts(ctx.db, request.query) }),
  });
}
