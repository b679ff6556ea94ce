/**
 * The OHDSI Circe cohort expression (what ATLAS exports as "JSON"), parsed with zod.
 *
 * Every object is strict: a field this engine does not know is refused with
 * `ItdaError('unsupported')` naming its JSON path, so a definition is never run with a
 * part silently dropped. Display-only metadata (concept names, captions, rule
 * descriptions, `cdmVersionRange`) is accepted and ignored.
 */
import { z } from 'zod';
import { ItdaError } from '../protocol/errors.ts';
import { CRITERIA_DOMAINS, type CriteriaDomainName, domainFieldSchemas } from './domains.ts';
import {
  ConceptRefSchema,
  ConceptSetSelectionSchema,
  DateRangeSchema,
  NumericRangeSchema,
  PeriodSchema,
} from './primitives.ts';

export * from './primitives.ts';

export const ConceptSetItemSchema = z.strictObject({
  concept: ConceptRefSchema,
  isExcluded: z.boolean().nullish(),
  includeDescendants: z.boolean().nullish(),
  includeMapped: z.boolean().nullish(),
});
export type ConceptSetItem = z.infer<typeof ConceptSetItemSchema>;

export const ConceptSetSchema = z.strictObject({
  id: z.number().int().min(0),
  name: z.string().nullish(),
  expression: z.strictObject({ items: z.array(ConceptSetItemSchema) }),
});
export type ConceptSet = z.infer<typeof ConceptSetSchema>;

export const DateAdjustmentSchema = z.strictObject({
  StartWith: z.enum(['START_DATE', 'END_DATE']).nullish(),
  StartOffset: z.number().int().nullish(),
  EndWith: z.enum(['START_DATE', 'END_DATE']).nullish(),
  EndOffset: z.number().int().nullish(),
});
export type DateAdjustment = z.infer<typeof DateAdjustmentSchema>;

const WindowEndpointSchema = z.strictObject({
  Days: z.number().int().min(0).nullish(),
  Coeff: z.union([z.literal(-1), z.literal(1)]),
});
export const WindowSchema = z.strictObject({
  Start: WindowEndpointSchema.nullish(),
  End: WindowEndpointSchema.nullish(),
  UseIndexEnd: z.boolean().nullish(),
  UseEventEnd: z.boolean().nullish(),
});
export type Window = z.infer<typeof WindowSchema>;

/** Circe's `Occurrence.Type`: 0 exactly, 1 at most, 2 at least. */
export const OccurrenceSchema = z.strictObject({
  Type: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  Count: z.number().int().min(0),
  IsDistinct: z.boolean().nullish(),
  CountColumn: z.string().nullish(),
});
export type Occurrence = z.infer<typeof OccurrenceSchema>;

export const DemographicCriteriaSchema = z.strictObject({
  Age: NumericRangeSchema.nullish(),
  Gender: z.array(ConceptRefSchema).nullish(),
  GenderCS: ConceptSetSelectionSchema.nullish(),
  Race: z.array(ConceptRefSchema).nullish(),
  RaceCS: ConceptSetSelectionSchema.nullish(),
  Ethnicity: z.array(ConceptRefSchema).nullish(),
  EthnicityCS: ConceptSetSelectionSchema.nullish(),
  OccurrenceStartDate: DateRangeSchema.nullish(),
  OccurrenceEndDate: DateRangeSchema.nullish(),
});
export type DemographicCriteria = z.infer<typeof DemographicCriteriaSchema>;

/** The attributes of one domain criterion (`{"ConditionOccurrence": {...}}`'s inner object). */
export type DomainCriteria = Record<string, unknown> & {
  CorrelatedCriteria?: CriteriaGroup | null;
  DateAdjustment?: DateAdjustment | null;
};

/** A criterion: an object with exactly one key, the domain name. */
export type Criteria = Partial<Record<CriteriaDomainName, DomainCriteria>>;

export interface CorrelatedCriteria {
  Criteria: Criteria;
  StartWindow?: Window | null;
  EndWindow?: Window | null;
  RestrictVisit?: boolean | null;
  IgnoreObservationPeriod?: boolean | null;
  Occurrence?: Occurrence | null;
}

export const GROUP_TYPES = ['ALL', 'ANY', 'AT_LEAST', 'AT_MOST'] as const;
export type GroupType = (typeof GROUP_TYPES)[number];

export interface CriteriaGroup {
  Type?: GroupType | null;
  Count?: number | null;
  CriteriaList?: CorrelatedCriteria[] | null;
  DemographicCriteriaList?: DemographicCriteria[] | null;
  Groups?: CriteriaGroup[] | null;
}

const GroupTypeSchema = z
  .string()
  .transform((value) => value.toUpperCase())
  .pipe(z.enum(GROUP_TYPES));

const LimitTypeSchema = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(['first', 'last', 'all']));
export const ResultLimitSchema = z.strictObject({ Type: LimitTypeSchema.nullish() });
export type ResultLimit = z.infer<typeof ResultLimitSchema>;

// Recursive schemas: a criterion may carry a correlated-criteria group, whose items carry criteria.
export const CriteriaGroupSchema: z.ZodType<CriteriaGroup> = z.lazy(() =>
  z.strictObject({
    Type: GroupTypeSchema.nullish(),
    Count: z.number().int().min(0).nullish(),
    CriteriaList: z.array(CorrelatedCriteriaSchema).nullish(),
    DemographicCriteriaList: z.array(DemographicCriteriaSchema).nullish(),
    Groups: z.array(CriteriaGroupSchema).nullish(),
  }),
);

const domainCriteriaSchemas = Object.fromEntries(
  CRITERIA_DOMAINS.map((domain) => [
    domain,
    z
      .strictObject({
        ...domainFieldSchemas(domain),
        CorrelatedCriteria: z.lazy(() => CriteriaGroupSchema).nullish(),
        DateAdjustment: DateAdjustmentSchema.nullish(),
      })
      .optional(),
  ]),
);

export const CriteriaSchema: z.ZodType<Criteria> = z.lazy(() =>
  z.strictObject(domainCriteriaSchemas).superRefine((value, ctx) => {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] != null);
    if (keys.length !== 1)
      ctx.addIssue({
        code: 'custom',
        message: `a criterion names exactly one domain (got ${keys.length ? keys.join(', ') : 'none'})`,
      });
  }),
) as z.ZodType<Criteria>;

export const CorrelatedCriteriaSchema: z.ZodType<CorrelatedCriteria> = z.lazy(() =>
  z.strictObject({
    Criteria: CriteriaSchema,
    StartWindow: WindowSchema.nullish(),
    EndWindow: WindowSchema.nullish(),
    RestrictVisit: z.boolean().nullish(),
    IgnoreObservationPeriod: z.boolean().nullish(),
    Occurrence: OccurrenceSchema.nullish(),
  }),
);

export const DateOffsetStrategySchema = z.strictObject({
  DateField: z.enum(['StartDate', 'EndDate']).nullish(),
  Offset: z.number().int().nullish(),
});
export const CustomEraStrategySchema = z.strictObject({
  DrugCodesetId: z.number().int().nullish(),
  GapDays: z.number().int().min(0).nullish(),
  Offset: z.number().int().nullish(),
  DaysSupplyOverride: z.number().int().min(0).nullish(),
});
export const EndStrategySchema = z.strictObject({
  DateOffset: DateOffsetStrategySchema.nullish(),
  CustomEra: CustomEraStrategySchema.nullish(),
});
export type EndStrategy = z.infer<typeof EndStrategySchema>;

export const InclusionRuleSchema = z.strictObject({
  name: z.string().nullish(),
  description: z.string().nullish(),
  expression: CriteriaGroupSchema,
});
export type InclusionRule = z.infer<typeof InclusionRuleSchema>;

export const CohortExpressionSchema = z.strictObject({
  Title: z.string().nullish(),
  cdmVersionRange: z.string().nullish(),
  ConceptSets: z.array(ConceptSetSchema).nullish(),
  PrimaryCriteria: z.strictObject({
    CriteriaList: z.array(CriteriaSchema),
    ObservationWindow: z
      .strictObject({
        PriorDays: z.number().int().min(0).nullish(),
        PostDays: z.number().int().min(0).nullish(),
      })
      .nullish(),
    PrimaryCriteriaLimit: ResultLimitSchema.nullish(),
  }),
  AdditionalCriteria: CriteriaGroupSchema.nullish(),
  QualifiedLimit: ResultLimitSchema.nullish(),
  ExpressionLimit: ResultLimitSchema.nullish(),
  InclusionRules: z.array(InclusionRuleSchema).nullish(),
  EndStrategy: EndStrategySchema.nullish(),
  CensoringCriteria: z.array(CriteriaSchema).nullish(),
  CollapseSettings: z
    .strictObject({ CollapseType: z.literal('ERA').nullish(), EraPad: z.number().int().min(0).nullish() })
    .nullish(),
  CensorWindow: PeriodSchema.nullish(),
});
export type CohortExpression = z.infer<typeof CohortExpressionSchema>;
/** The JSON as written (ATLAS casing, e.g. `"Type": "First"`), before parsing normalizes it. */
export type CohortExpressionJson = z.input<typeof CohortExpressionSchema>;

/** `["PrimaryCriteria","CriteriaList",0]` → `PrimaryCriteria.CriteriaList[0]`. */
export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(root)';
}

/**
 * Parses a Circe cohort expression (an object or its JSON text). Fields this engine does
 * not implement are refused with `ItdaError('unsupported')` listing their JSON paths;
 * malformed values with `ItdaError('validation_failed')`.
 */
export function parseCohortExpression(input: unknown): CohortExpression {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new ItdaError('validation_failed', `cohort definition is not JSON: ${(error as Error).message}`);
    }
  }
  const result = CohortExpressionSchema.safeParse(value);
  if (result.success) return result.data;
  const unsupported = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => jsonPath([...issue.path, key])) : [],
  );
  if (unsupported.length > 0)
    throw new ItdaError(
      'unsupported',
      `cohort definition uses ${unsupported.length === 1 ? 'a field' : 'fields'} this engine does not support: ${unsupported.join(', ')}`,
      { unsupported },
    );
  const problems = result.error.issues.map((issue) => `${jsonPath(issue.path)}: ${issue.message}`);
  throw new ItdaError('validation_failed', `invalid cohort definition: ${problems.join('; ')}`, { problems });
}
