/**
 * Federated feasibility: the researcher's request, the `feasibility` task a site runs,
 * the answer it sends back (already through its disclosure control) and the hub's view
 * of a query across sites. Shared by the hub, the site node, the web app and the CLI.
 */
import { z } from 'zod';

// wire.ts imports this module for the task payload, so site ids are plain strings here.
const siteIdSchema = z.string().min(1).max(63);

/** HTTP paths of the hub's feasibility API (`:id` is the query id). */
export const FEASIBILITY_PATHS = {
  /** POST: submit a query; GET: the signed-in user's query history. */
  queries: '/api/feasibility',
  /** GET `?wait=N`: one query, waiting up to N seconds for it to settle. */
  query: '/api/feasibility/:id',
} as const;

/** The path of one query. */
export function feasibilityQueryPath(id: string): string {
  return FEASIBILITY_PATHS.query.replace(':id', encodeURIComponent(id));
}

export const DEFAULT_FEASIBILITY_TIMEOUT_SECONDS = 30;
export const MAX_FEASIBILITY_TIMEOUT_SECONDS = 600;
/** Longest `?wait=` a client may ask for on `GET /api/feasibility/:id`. */
export const MAX_FEASIBILITY_WAIT_SECONDS = 60;

/**
 * A Circe cohort expression as ATLAS exports it (a JSON object). Its structure is
 * validated by the cohort engine, which names any unsupported part.
 */
export const circeDefinitionSchema = z.record(z.string(), z.unknown());

export const feasibilityRequestSchema = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  definition: circeDefinitionSchema,
  /** Default: every approved site. */
  siteIds: z.array(siteIdSchema).min(1).max(200).optional(),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(MAX_FEASIBILITY_TIMEOUT_SECONDS)
    .default(DEFAULT_FEASIBILITY_TIMEOUT_SECONDS),
});
export type FeasibilityRequest = z.input<typeof feasibilityRequestSchema>;

/** The payload of a `feasibility` task (see `taskKindSchema` in wire.ts). */
export const feasibilityTaskPayloadSchema = z.object({
  queryId: z.string().uuid(),
  definition: circeDefinitionSchema,
});
export type FeasibilityTaskPayload = z.infer<typeof feasibilityTaskPayloadSchema>;

/**
 * A count as it left the site: an integer that is 0 or a multiple of the site's rounding
 * unit (≥ its minimum cell count), or `"<N"` for counts from 1 to N−1 (N = the minimum
 * cell count, 10 by default, so `"<10"`).
 */
export const feasibilityCountSchema = z.union([
  z.number().int().min(0),
  z.string().regex(/^<[1-9][0-9]*$/, 'a suppressed count is written "<N"'),
]);
export type FeasibilityCount = z.infer<typeof feasibilityCountSchema>;

export const feasibilityRuleAttritionSchema = z.object({
  ruleSequence: z.number().int().min(0),
  name: z.string(),
  /** Persons (best event per person) that pass this rule. */
  personCount: feasibilityCountSchema,
  /** Persons that pass this rule and every rule before it (the attrition curve). */
  remainingCount: feasibilityCountSchema,
});
export type FeasibilityRuleAttrition = z.infer<typeof feasibilityRuleAttritionSchema>;

/** The disclosure settings a site applied (its steward may raise, never lower, them). */
export const disclosureAppliedSchema = z.object({
  minCellCount: z.number().int().min(1),
  rounding: z.number().int().min(1),
});

/** The result of a `feasibility` task, as the site posts it. */
export const feasibilitySiteAnswerSchema = z.object({
  queryId: z.string().uuid(),
  /** Persons with a qualifying entry event, before inclusion rules. */
  baseCount: feasibilityCountSchema,
  /** Persons whose best event passes every inclusion rule (the cohort size). */
  finalCount: feasibilityCountSchema,
  inclusionRules: z.array(feasibilityRuleAttritionSchema),
  disclosure: disclosureAppliedSchema,
  computedAt: z.string().datetime(),
  elapsedMs: z.number().int().min(0),
});
export type FeasibilitySiteAnswer = z.infer<typeof feasibilitySiteAnswerSchema>;

/**
 * Per site: `pending` (asked, no answer yet), `answered`, `refused` (the site's policy or
 * an unsupported definition), `failed` (an error at the site), `not_answering` (offline
 * or silent past the query's timeout).
 */
export const feasibilitySiteStatusSchema = z.enum([
  'pending',
  'answered',
  'refused',
  'failed',
  'not_answering',
]);
export type FeasibilitySiteStatus = z.infer<typeof feasibilitySiteStatusSchema>;

export const feasibilitySiteResultSchema = z.object({
  siteId: siteIdSchema,
  siteName: z.string(),
  status: feasibilitySiteStatusSchema,
  /** Present once the query is complete and the site answered; never for a refused query. */
  answer: feasibilitySiteAnswerSchema.nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  answeredAt: z.string().datetime().nullable(),
});
export type FeasibilitySiteResult = z.infer<typeof feasibilitySiteResultSchema>;

/**
 * The total over the sites that answered: the sum of their disclosed counts, and the
 * range of exact totals those counts allow when some sites said `"<N"` (each of them
 * holds 1…N−1 persons). `display` is the honest short form ("1,230", "≥ 1,232").
 */
export const feasibilityTotalSchema = z.object({
  sum: z.number().int().min(0),
  suppressedSites: z.number().int().min(0),
  atLeast: z.number().int().min(0),
  atMost: z.number().int().min(0),
  display: z.string(),
});
export type FeasibilityTotal = z.infer<typeof feasibilityTotalSchema>;

/**
 * `running`: waiting for sites; `complete`: every site answered or timed out, results
 * shown; `refused`: the differencing defence withheld every result.
 */
export const feasibilityQueryStatusSchema = z.enum(['running', 'complete', 'refused']);
export type FeasibilityQueryStatus = z.infer<typeof feasibilityQueryStatusSchema>;

export const feasibilityQueryViewSchema = z.object({
  id: z.string().uuid(),
  name: z.string().nullable(),
  status: feasibilityQueryStatusSchema,
  /** Why the query was refused (differencing), else null. */
  refusal: z.string().nullable(),
  createdAt: z.string().datetime(),
  /** When sites that have not answered count as not answering. */
  deadline: z.string().datetime(),
  completedAt: z.string().datetime().nullable(),
  timeoutSeconds: z.number().int(),
  /** Inclusion rule names, in order (from the definition). */
  inclusionRules: z.array(z.string()),
  definition: circeDefinitionSchema,
  sites: z.array(feasibilitySiteResultSchema),
  /** Final cohort size over the answering sites; null until complete and when refused. */
  total: feasibilityTotalSchema.nullable(),
  /** Base (entry event) count over the answering sites; null until complete and when refused. */
  baseTotal: feasibilityTotalSchema.nullable(),
});
export type FeasibilityQueryView = z.infer<typeof feasibilityQueryViewSchema>;

export const feasibilityQuerySummarySchema = feasibilityQueryViewSchema.pick({
  id: true,
  name: true,
  status: true,
  refusal: true,
  createdAt: true,
  completedAt: true,
  total: true,
});
export type FeasibilityQuerySummary = z.infer<typeof feasibilityQuerySummarySchema>;

export const feasibilityQueryListSchema = z.object({ queries: z.array(feasibilityQuerySummarySchema) });
export type FeasibilityQueryList = z.infer<typeof feasibilityQueryListSchema>;
