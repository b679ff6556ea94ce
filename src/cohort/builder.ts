/**
 * A simple cohort builder for people without ATLAS: entry events (conditions, drugs,
 * procedures, measurements with value ranges, …), age and sex, and "must have" / "must
 * not have" criteria in time windows around the entry date. It produces the same Circe
 * JSON that ATLAS exports, so everything downstream (compiler, hub, audit) sees one format.
 */
import { z } from 'zod';
import { ItdaError } from '../protocol/errors.ts';
import type { CriteriaDomainName } from './domains.ts';
import type {
  CohortExpressionJson,
  ConceptSet,
  CorrelatedCriteria,
  Criteria,
  CriteriaGroup,
} from './expression.ts';
import { jsonPath } from './expression.ts';
import type { NumericRange } from './primitives.ts';

const DOMAIN_OF = {
  condition: 'ConditionOccurrence',
  drug: 'DrugExposure',
  procedure: 'ProcedureOccurrence',
  measurement: 'Measurement',
  observation: 'Observation',
  visit: 'VisitOccurrence',
  device: 'DeviceExposure',
} as const satisfies Record<string, CriteriaDomainName>;

/** OMOP gender concepts. */
export const SEX_CONCEPTS = { male: 8507, female: 8532 } as const;

const RangeSchema = z
  .strictObject({ min: z.number().optional(), max: z.number().optional() })
  .refine((r) => r.min !== undefined || r.max !== undefined, 'give min, max or both')
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, 'min must not exceed max');

export const SimpleEventSchema = z.strictObject({
  domain: z.enum(Object.keys(DOMAIN_OF) as [keyof typeof DOMAIN_OF, ...(keyof typeof DOMAIN_OF)[]]),
  conceptIds: z.array(z.number().int().positive()).min(1),
  /** Also match descendants through concept_ancestor (default true). */
  includeDescendants: z.boolean().optional(),
  /** Value range for measurements and observations (inclusive). */
  value: RangeSchema.optional(),
  /** Unit concepts the value must be recorded in. */
  unitConceptIds: z.array(z.number().int().positive()).optional(),
  /** A label for the concept set (shown in ATLAS). */
  label: z.string().optional(),
});
export type SimpleEvent = z.infer<typeof SimpleEventSchema>;

export const SimpleRuleSchema = SimpleEventSchema.extend({
  /** The rule's name in attrition reports. */
  name: z.string().optional(),
  /**
   * Days relative to the entry date (negative = before); a missing bound is open (limited
   * to the observation period). Default: the whole observation period.
   */
  window: z
    .strictObject({ fromDays: z.number().int().nullish(), toDays: z.number().int().nullish() })
    .optional(),
  /** "Must have" needs at least this many events in the window (default 1). */
  atLeast: z.number().int().min(1).optional(),
});
export type SimpleRule = z.infer<typeof SimpleRuleSchema>;

export const SimpleCohortSpecSchema = z.strictObject({
  title: z.string().optional(),
  /** Any of these events starts the cohort. */
  entry: z.array(SimpleEventSchema).min(1),
  /** Every qualifying event, or only each person's first (default). */
  entryEvents: z.enum(['first', 'all']).optional(),
  /** Days of observation required before / after the entry date (default 0). */
  priorObservationDays: z.number().int().min(0).optional(),
  postObservationDays: z.number().int().min(0).optional(),
  /** Age in years at the entry date (inclusive). */
  age: RangeSchema.optional(),
  sex: z
    .array(z.enum(['male', 'female']))
    .min(1)
    .optional(),
  require: z.array(SimpleRuleSchema).optional(),
  exclude: z.array(SimpleRuleSchema).optional(),
  /** Leave the cohort this many days after entry; default: at the end of the observation period. */
  exitDaysAfterEntry: z.number().int().min(0).optional(),
});
export type SimpleCohortSpec = z.infer<typeof SimpleCohortSpecSchema>;

function range(r: { min?: number | undefined; max?: number | undefined }): NumericRange {
  if (r.min !== undefined && r.max !== undefined) return { Value: r.min, Op: 'bt', Extent: r.max };
  if (r.min !== undefined) return { Value: r.min, Op: 'gte' };
  return { Value: r.max!, Op: 'lte' };
}

function endpoint(days: number | null | undefined, openCoeff: -1 | 1) {
  if (days == null) return { Coeff: openCoeff };
  return { Days: Math.abs(days), Coeff: days < 0 ? (-1 as const) : (1 as const) };
}

/**
 * Builds an OHDSI Circe cohort expression (the JSON ATLAS exports) from a simple spec:
 * entry events, age, sex, required and excluded events in time windows, exit.
 * Each age/sex/require/exclude item becomes one Circe inclusion rule, so attrition is
 * reported per item.
 */
export function buildCohort(spec: SimpleCohortSpec): CohortExpressionJson {
  const parsed = SimpleCohortSpecSchema.safeParse(spec);
  if (!parsed.success)
    throw new ItdaError(
      'validation_failed',
      `invalid cohort spec: ${parsed.error.issues.map((i) => `${jsonPath(i.path)}: ${i.message}`).join('; ')}`,
    );
  const s = parsed.data;
  const conceptSets: ConceptSet[] = [];
  const codesetIds = new Map<string, number>();
  const codeset = (event: SimpleEvent): number => {
    const descendants = event.includeDescendants ?? true;
    const ids = [...new Set(event.conceptIds)].sort((a, b) => a - b);
    const key = `${descendants}:${ids.join(',')}`;
    const known = codesetIds.get(key);
    if (known !== undefined) return known;
    const id = conceptSets.length;
    codesetIds.set(key, id);
    conceptSets.push({
      id,
      name: event.label ?? `${event.domain} ${ids.join(', ')}`,
      expression: {
        items: ids.map((conceptId) => ({
          concept: { CONCEPT_ID: conceptId },
          includeDescendants: descendants,
          isExcluded: false,
          includeMapped: false,
        })),
      },
    });
    return id;
  };
  const criteria = (event: SimpleEvent): Criteria => {
    const attrs: Record<string, unknown> = { CodesetId: codeset(event) };
    if (event.value) {
      if (event.domain !== 'measurement' && event.domain !== 'observation')
        throw new ItdaError(
          'validation_failed',
          `a value range applies to measurements and observations, not ${event.domain}`,
        );
      attrs.ValueAsNumber = range(event.value);
    }
    if (event.unitConceptIds?.length) {
      if (event.domain !== 'measurement' && event.domain !== 'observation')
        throw new ItdaError(
          'validation_failed',
          `units apply to measurements and observations, not ${event.domain}`,
        );
      attrs.Unit = event.unitConceptIds.map((id) => ({ CONCEPT_ID: id }));
    }
    return { [DOMAIN_OF[event.domain]]: attrs };
  };
  const ruleGroup = (rule: SimpleRule, mustHave: boolean): CriteriaGroup => {
    const correlated: CorrelatedCriteria = {
      Criteria: criteria(rule),
      StartWindow: {
        Start: endpoint(rule.window?.fromDays, -1),
        End: endpoint(rule.window?.toDays, 1),
        UseIndexEnd: false,
        UseEventEnd: false,
      },
      RestrictVisit: false,
      IgnoreObservationPeriod: false,
      Occurrence: mustHave ? { Type: 2, Count: rule.atLeast ?? 1 } : { Type: 0, Count: 0 },
    };
    return { Type: 'ALL', CriteriaList: [correlated], DemographicCriteriaList: [], Groups: [] };
  };
  const describeWindow = (rule: SimpleRule) => {
    const from = rule.window?.fromDays;
    const to = rule.window?.toDays;
    if (from == null && to == null) return 'during observation';
    return `from ${from ?? '-∞'} to ${to ?? '+∞'} days of entry`;
  };

  const inclusionRules: NonNullable<CohortExpressionJson['InclusionRules']> = [];
  if (s.age)
    inclusionRules.push({
      name: `Age ${s.age.min ?? ''}${s.age.max === undefined ? '+' : `–${s.age.max}`}`,
      expression: {
        Type: 'ALL',
        CriteriaList: [],
        DemographicCriteriaList: [{ Age: range(s.age) }],
        Groups: [],
      },
    });
  if (s.sex)
    inclusionRules.push({
      name: `Sex: ${s.sex.join(' or ')}`,
      expression: {
        Type: 'ALL',
        CriteriaList: [],
        DemographicCriteriaList: [{ Gender: s.sex.map((x) => ({ CONCEPT_ID: SEX_CONCEPTS[x] })) }],
        Groups: [],
      },
    });
  for (const rule of s.require ?? [])
    inclusionRules.push({
      name: rule.name ?? `Has ${rule.label ?? rule.domain} ${describeWindow(rule)}`,
      expression: ruleGroup(rule, true),
    });
  for (const rule of s.exclude ?? [])
    inclusionRules.push({
      name: rule.name ?? `No ${rule.label ?? rule.domain} ${describeWindow(rule)}`,
      expression: ruleGroup(rule, false),
    });

  const limit = { Type: s.entryEvents === 'all' ? 'All' : 'First' };
  const expression: CohortExpressionJson = {
    ...(s.title ? { Title: s.title } : {}),
    ConceptSets: conceptSets,
    PrimaryCriteria: {
      CriteriaList: s.entry.map(criteria),
      ObservationWindow: { PriorDays: s.priorObservationDays ?? 0, PostDays: s.postObservationDays ?? 0 },
      PrimaryCriteriaLimit: limit,
    },
    QualifiedLimit: limit,
    ExpressionLimit: limit,
    InclusionRules: inclusionRules,
    CensoringCriteria: [],
    CollapseSettings: { CollapseType: 'ERA', EraPad: 0 },
    CensorWindow: {},
  };
  if (s.exitDaysAfterEntry !== undefined)
    expression.EndStrategy = { DateOffset: { DateField: 'StartDate', Offset: s.exitDaysAfterEntry } };
  return expression;
}
