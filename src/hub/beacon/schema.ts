/**
 * Request and response shapes of the hub's GA4GH Beacon v2-style endpoint (Beacon v2
 * framework: `beaconRequestBody`, `beaconResultsetsResponse`, `beaconInfoResponse`,
 * `beaconFilteringTermsResponse`), restricted to what a count-only federated beacon
 * needs. Deviations from the framework are listed in README.md beside this file.
 */
import { z } from 'zod';

export const BEACON_API_VERSION = 'v2.0.0';
export const BEACON_ID = 'dev.itda.hub';
export const INDIVIDUAL_SCHEMA = { entityType: 'individual', schema: 'beacon-individual-v2.0.0' } as const;

export const BEACON_PATHS = {
  info: '/api/beacon/info',
  filteringTerms: '/api/beacon/filtering_terms',
  individuals: '/api/beacon/individuals',
} as const;

/** Beacon v2 granularities; this beacon answers `record` requests at `count`. */
export const GRANULARITIES = ['boolean', 'count', 'record'] as const;
export type Granularity = (typeof GRANULARITIES)[number];

/**
 * A Beacon filter: an ontology term (`{id}`: an OMOP concept id, `OMOP:<id>`, or a sex
 * term) or an alphanumeric one (`{id, operator, value}`: `Gender`/`sex`, `age`, or a
 * measurement concept with a value bound).
 */
export const beaconFilterSchema = z.strictObject({
  id: z.string().trim().min(1).max(100),
  operator: z.enum(['=', '<', '>', '<=', '>=']).optional(),
  value: z.string().trim().min(1).max(100).optional(),
  includeDescendantTerms: z.boolean().optional(),
  similarity: z.enum(['exact', 'high', 'medium', 'low']).optional(),
  scope: z.string().max(100).optional(),
});
export type BeaconFilter = z.infer<typeof beaconFilterSchema>;

export const beaconRequestBodySchema = z.object({
  meta: z
    .object({ apiVersion: z.string().max(20).optional() })
    .passthrough()
    .optional(),
  query: z
    .object({
      filters: z.array(beaconFilterSchema).max(20).default([]),
      requestedGranularity: z.enum(GRANULARITIES).default('count'),
      includeResultsetResponses: z.enum(['HIT', 'MISS', 'ALL', 'NONE']).default('HIT'),
      pagination: z
        .object({ skip: z.number().int().min(0).default(0), limit: z.number().int().min(0).default(10) })
        .optional(),
      testMode: z.boolean().optional(),
    })
    .default({ filters: [], requestedGranularity: 'count', includeResultsetResponses: 'HIT' }),
});
export type BeaconRequestBody = z.input<typeof beaconRequestBodySchema>;
export type BeaconRequest = z.output<typeof beaconRequestBodySchema>['query'];

/** GET form: `filters` is a comma-separated list of ontology filter ids. */
export const beaconQueryStringSchema = z.object({
  filters: z.string().max(2000).optional(),
  requestedGranularity: z.enum(GRANULARITIES).default('count'),
  includeResultsetResponses: z.enum(['HIT', 'MISS', 'ALL', 'NONE']).default('HIT'),
});

const countAsReleased = z.union([z.number().int().min(0), z.string()]);

export const beaconResultSetSchema = z.object({
  /** The site id. */
  id: z.string(),
  setType: z.literal('dataset'),
  exists: z.boolean(),
  /** The count as it left the site: an integer rounded to 10, or "<10". Absent at boolean granularity. */
  resultsCount: countAsReleased.optional(),
  info: z.object({
    siteName: z.string(),
    status: z.enum(['pending', 'answered', 'refused', 'failed', 'not_answering']),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  }),
});
export type BeaconResultSet = z.infer<typeof beaconResultSetSchema>;

const metaSchema = z.object({
  beaconId: z.string(),
  apiVersion: z.string(),
  returnedGranularity: z.enum(GRANULARITIES),
  receivedRequestSummary: z.object({
    apiVersion: z.string(),
    requestedSchemas: z.array(z.object({ entityType: z.string(), schema: z.string() })),
    filters: z.array(beaconFilterSchema),
    requestedGranularity: z.enum(GRANULARITIES),
    includeResultsetResponses: z.string(),
    pagination: z.object({ skip: z.number(), limit: z.number() }),
  }),
  returnedSchemas: z.array(z.object({ entityType: z.string(), schema: z.string() })),
});

export const beaconIndividualsResponseSchema = z.object({
  meta: metaSchema,
  responseSummary: z.object({
    exists: z.boolean(),
    /** Lower bound of the total the disclosed counts allow (a "<10" site counts 1). Count granularity only. */
    numTotalResults: z.number().int().min(0).optional(),
  }),
  response: z.object({ resultSets: z.array(beaconResultSetSchema) }),
  info: z.object({
    /** The feasibility query this answer came from (in the caller's query history and the audit log). */
    feasibilityQueryId: z.string(),
    /** The total as the feasibility view states it ("1,230", "≥ 12", "2–18"). Count granularity only. */
    totalDisplay: z.string().optional(),
    notAnswering: z.array(z.string()),
    disclosure: z.string(),
  }),
});
export type BeaconIndividualsResponse = z.infer<typeof beaconIndividualsResponseSchema>;

export const beaconInfoResponseSchema = z.object({
  meta: z.object({
    beaconId: z.string(),
    apiVersion: z.string(),
    returnedSchemas: z.array(z.object({ entityType: z.string(), schema: z.string() })),
  }),
  response: z.object({
    id: z.string(),
    name: z.string(),
    apiVersion: z.string(),
    environment: z.string(),
    organization: z.object({ id: z.string(), name: z.string() }),
    description: z.string(),
    info: z.object({ sites: z.number().int(), granularities: z.array(z.enum(GRANULARITIES)) }),
  }),
});

export const filteringTermSchema = z.object({
  type: z.enum(['ontologyTerm', 'alphanumeric']),
  id: z.string(),
  label: z.string(),
  scopes: z.array(z.string()),
});

export const beaconFilteringTermsResponseSchema = z.object({
  meta: z.object({ beaconId: z.string(), apiVersion: z.string() }),
  response: z.object({ filteringTerms: z.array(filteringTermSchema) }),
});
