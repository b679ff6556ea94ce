/**
 * What a site publishes about itself: its data-quality report (OHDSI DQD checks) and its
 * profile (Achilles-style aggregates, small cells already suppressed at the site).
 * Only aggregates ever travel; these schemas are what the hub accepts and serves.
 */
import { z } from 'zod';

/** A count as it may leave a site: exact when 0 or ≥ the site's minimum cell size N, else "<N". */
export const disclosedCountSchema = z.union([
  z.number().int().min(0),
  z.templateLiteral(['<', z.number().int().min(10)]),
]);
export type DisclosedCount = z.infer<typeof disclosedCountSchema>;

export const kahnContextSchema = z.enum(['Verification', 'Validation']);
export const kahnCategorySchema = z.enum(['Conformance', 'Completeness', 'Plausibility']);

export const checkStatusSchema = z.enum(['passed', 'failed', 'not_applicable', 'error']);
export type CheckStatus = z.infer<typeof checkStatusSchema>;

export const qualityCheckResultSchema = z.object({
  checkName: z.string(),
  checkLevel: z.enum(['TABLE', 'FIELD', 'CONCEPT']),
  cdmTableName: z.string(),
  cdmFieldName: z.string().nullable(),
  conceptId: z.number().int().nullable(),
  unitConceptId: z.number().int().nullable(),
  context: kahnContextSchema,
  category: kahnCategorySchema,
  subcategory: z.string().nullable(),
  severity: z.string().nullable(),
  description: z.string(),
  /** Percent of rows allowed to violate the check (DQD threshold). */
  thresholdPercent: z.number(),
  numViolatedRows: z.number().int().nullable(),
  numDenominatorRows: z.number().int().nullable(),
  pctViolatedRows: z.number().nullable(),
  status: checkStatusSchema,
  /** Why a check did not apply (empty table, missing field…) or why it errored. */
  note: z.string().nullable(),
});
export type QualityCheckResult = z.infer<typeof qualityCheckResultSchema>;

export const qualityTallySchema = z.object({
  run: z.number().int(),
  passed: z.number().int(),
  failed: z.number().int(),
  notApplicable: z.number().int(),
  errors: z.number().int(),
  /** passed / (passed + failed) × 100, as DQD reports it; null when nothing applied. */
  percentPassed: z.number().nullable(),
});
export type QualityTally = z.infer<typeof qualityTallySchema>;

export const qualityReportSchema = z.object({
  generatedAt: z.string().datetime(),
  cdmVersion: z.string(),
  overall: qualityTallySchema,
  byCategory: z.array(
    qualityTallySchema.extend({ context: kahnContextSchema, category: kahnCategorySchema }),
  ),
  checks: z.array(qualityCheckResultSchema),
});
export type QualityReport = z.infer<typeof qualityReportSchema>;

const stratumSchema = z.string().nullable();

/** Rows of one Achilles analysis (results table layout: analysis_id, stratum_1..5, count_value). */
export const profileAnalysisSchema = z.object({
  analysisId: z.number().int(),
  name: z.string(),
  stratumNames: z.array(z.string()),
  rows: z.array(z.object({ strata: z.array(stratumSchema), count: disclosedCountSchema })),
});

/** Rows of one Achilles distribution analysis (results_dist layout). */
export const profileDistributionSchema = z.object({
  analysisId: z.number().int(),
  name: z.string(),
  stratumNames: z.array(z.string()),
  rows: z.array(
    z.object({
      strata: z.array(stratumSchema),
      count: disclosedCountSchema,
      min: z.number().nullable(),
      max: z.number().nullable(),
      mean: z.number().nullable(),
      sd: z.number().nullable(),
      median: z.number().nullable(),
      p10: z.number().nullable(),
      p25: z.number().nullable(),
      p75: z.number().nullable(),
      p90: z.number().nullable(),
    }),
  ),
});

export const profileReportSchema = z.object({
  generatedAt: z.string().datetime(),
  /** Counts in (0, minCellCount) were replaced by "<10" before leaving the site. */
  minCellCount: z.number().int().min(10),
  /** concept_id → concept_name for every concept the analyses mention. */
  concepts: z.record(z.string(), z.string()),
  analyses: z.array(profileAnalysisSchema),
  distributions: z.array(profileDistributionSchema),
});
export type ProfileReport = z.infer<typeof profileReportSchema>;

export const siteReportKindSchema = z.enum(['quality', 'profile']);
export type SiteReportKind = z.infer<typeof siteReportKindSchema>;
