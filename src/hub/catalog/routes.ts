import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { HubContext } from '../context.ts';
import '../http/request-context.ts';
import {
  catalogPageSchema,
  catalogQuerySchema,
  datasetInputSchema,
  datasetSchema,
  datasetUpdateSchema,
  datasetVersionSchema,
} from '../../protocol/catalog.ts';
import { vocabularyRoutes } from '../vocabulary/routes.ts';
import { dcatCatalog } from './dcat.ts';
import {
  catalogEntries,
  createDataset,
  datasetHistory,
  datasetVersion,
  getDataset,
  searchCatalog,
  updateDatasetEntry,
} from './service.ts';

const idParams = z.object({ id: z.uuid() });

function origin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

/** The catalog and, with it, the concept search its cohort builder uses. */
export function catalogRoutes(app: FastifyInstance, ctx: HubContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  vocabularyRoutes(app, ctx);

  r.get('/api/catalog', {
    config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
    schema: {
      tags: ['catalog'],
      summary: 'Search datasets (Korean and English n-gram text, filters, sort, pages)',
      querystring: catalogQuerySchema,
      response: { 200: catalogPageSchema },
    },
    handler: (request) => searchCatalog(ctx, request.query),
  });

  r.get('/api/catalog/dcat', {
    // Metadata only, for harvesters: the data itself never leaves the sites.
    config: { access: { kind: 'public' } },
    schema: {
      tags: ['catalog'],
      summary: 'The whole catalog as DCAT-AP (HealthDCAT-AP) JSON-LD',
    },
    handler: async (request, reply) => {
      const entries = (await catalogEntries(ctx)).map(({ row, dataset }) => ({
        id: row.id,
        version: row.version,
        siteName: row.site_name,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        dataset,
      }));
      return reply.type('application/ld+json').send(dcatCatalog(origin(request), entries));
    },
  });

  r.post('/api/catalog', {
    config: {
      access: { kind: 'user', roles: ['steward', 'admin'], owner: 'site', scope: 'catalog:write' },
    },
    schema: {
      tags: ['catalog'],
      summary: 'Describe a dataset of a site (a steward of that site, or an admin)',
      body: datasetInputSchema,
      response: { 201: datasetSchema },
    },
    handler: async (request, reply) =>
      reply.code(201).send(await createDataset(ctx, request.user!, request.body)),
  });

  r.get('/api/catalog/:id', {
    config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
    schema: {
      tags: ['catalog'],
      summary: 'A dataset, current version',
      params: idParams,
      response: { 200: datasetSchema },
    },
    handler: (request) => getDataset(ctx, request.params.id),
  });

  r.put('/api/catalog/:id', {
    config: {
      access: { kind: 'user', roles: ['steward', 'admin'], owner: 'site', scope: 'catalog:write' },
    },
    schema: {
      tags: ['catalog'],
      summary: 'Save a new version of a dataset (refused if baseVersion is not the current one)',
      params: idParams,
      body: datasetUpdateSchema,
      response: { 200: datasetSchema },
    },
    handler: (request) =>
      updateDatasetEntry(
        ctx,
        request.user!,
        request.params.id,
        request.body.baseVersion,
        request.body.dataset,
      ),
  });

  r.get('/api/catalog/:id/versions', {
    config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
    schema: {
      tags: ['catalog'],
      summary: "A dataset's history, newest first",
      params: idParams,
      response: { 200: z.object({ versions: z.array(datasetVersionSchema) }) },
    },
    handler: async (request) => ({ versions: await datasetHistory(ctx, request.params.id) }),
  });

  r.get('/api/catalog/:id/versions/:version', {
    config: { access: { kind: 'user', roles: [], owner: 'none', scope: 'catalog:read' } },
    schema: {
      tags: ['catalog'],
      summary: 'One version of a dataset',
      params: idParams.extend({ version: z.coerce.number().int().min(1) }),
      response: { 200: datasetVersionSchema },
    },
    handler: (request) => datasetVersion(ctx, request.params.id, request.params.version),
  });
}
