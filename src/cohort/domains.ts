/**
 * The Circe criteria domains and, for each, the attributes this engine compiles: which
 * OMOP CDM v5.4 table and columns they read and how each attribute filters the rows.
 * An attribute missing here is refused when a definition is parsed.
 *
 * Column expressions use the aliases of the criteria query (see criteria-sql.ts):
 * `C` the domain row (with `start_date`/`end_date` already computed), `P` person,
 * `V` visit_occurrence, `PR` provider, `CS` care_site.
 */
import { z } from 'zod';
import {
  ConceptRefSchema,
  ConceptSetSelectionSchema,
  DateRangeSchema,
  NumericRangeSchema,
  PeriodSchema,
  TextFilterSchema,
} from './primitives.ts';

export type CriteriaJoin = 'person' | 'visit' | 'provider' | 'careSite';

export type FieldKind =
  /** A concept-set id matched against a column before `First` is applied (Circe joins #Codesets). */
  | { kind: 'codeset'; column: string }
  /** A concept-set id matched against a column after `First` (Circe's payer-plan concept fields). */
  | { kind: 'codesetFilter'; column: string }
  | { kind: 'first' }
  | { kind: 'dateRange'; expr: string }
  | { kind: 'numericRange'; expr: string; decimal: boolean; join?: CriteriaJoin }
  | { kind: 'concepts'; column: string; excludeFlag?: string; join?: CriteriaJoin }
  | { kind: 'conceptSet'; column: string; join?: CriteriaJoin }
  | { kind: 'text'; column: string }
  /** A boolean read by another attribute (e.g. `ConditionTypeExclude` by `ConditionType`). */
  | { kind: 'flag' }
  | { kind: 'userDefinedPeriod' }
  | { kind: 'abnormal' };

export interface DomainSpec {
  table: string;
  alias: string;
  /** Column that identifies the event (Circe's `event_id`). */
  eventId: string;
  /** Start and end date expressions over the raw table alias (end dates default as Circe's do). */
  start: string;
  end: string;
  hasVisit: boolean;
  /** Expression over `C` for Circe's `domain_concept_id` (distinct counts). */
  domainConcept: string;
  /** `First`: rows ranked per person by this order (over the raw table alias). */
  firstOrder: string;
  /** Periods rank every row of the person, not only the concept-set matches. */
  rankAllRows?: boolean;
  fields: Record<string, FieldKind>;
}

const age = (dateExpr = 'C.start_date', name = 'Age'): Record<string, FieldKind> => ({
  [name]: {
    kind: 'numericRange',
    expr: `EXTRACT(YEAR FROM ${dateExpr}) - P.year_of_birth`,
    decimal: false,
    join: 'person',
  },
});
const gender: Record<string, FieldKind> = {
  Gender: { kind: 'concepts', column: 'P.gender_concept_id', join: 'person' },
  GenderCS: { kind: 'conceptSet', column: 'P.gender_concept_id', join: 'person' },
};
const provider: Record<string, FieldKind> = {
  ProviderSpecialty: { kind: 'concepts', column: 'PR.specialty_concept_id', join: 'provider' },
  ProviderSpecialtyCS: { kind: 'conceptSet', column: 'PR.specialty_concept_id', join: 'provider' },
};
const visitType: Record<string, FieldKind> = {
  VisitType: { kind: 'concepts', column: 'V.visit_concept_id', join: 'visit' },
  VisitTypeCS: { kind: 'conceptSet', column: 'V.visit_concept_id', join: 'visit' },
};
const typed = (prefix: string, column: string): Record<string, FieldKind> => ({
  [`${prefix}Type`]: { kind: 'concepts', column: `C.${column}`, excludeFlag: `${prefix}TypeExclude` },
  [`${prefix}TypeCS`]: { kind: 'conceptSet', column: `C.${column}` },
  [`${prefix}TypeExclude`]: { kind: 'flag' },
});
const conceptField = (name: string, column: string): Record<string, FieldKind> => ({
  [name]: { kind: 'concepts', column: `C.${column}` },
  [`${name}CS`]: { kind: 'conceptSet', column: `C.${column}` },
});
const eraFields = (conceptColumn: string): Record<string, FieldKind> => ({
  CodesetId: { kind: 'codeset', column: conceptColumn },
  First: { kind: 'first' },
  EraStartDate: { kind: 'dateRange', expr: 'C.start_date' },
  EraEndDate: { kind: 'dateRange', expr: 'C.end_date' },
  EraLength: { kind: 'numericRange', expr: '(C.end_date - C.start_date)', decimal: false },
  ...age('C.start_date', 'AgeAtStart'),
  ...age('C.end_date', 'AgeAtEnd'),
  ...gender,
});

export const DOMAINS = {
  ConditionOccurrence: {
    table: 'condition_occurrence',
    alias: 'co',
    eventId: 'condition_occurrence_id',
    start: 'co.condition_start_date',
    end: 'COALESCE(co.condition_end_date, co.condition_start_date + 1)',
    hasVisit: true,
    domainConcept: 'C.condition_concept_id',
    firstOrder: 'co.condition_start_date, co.condition_occurrence_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'condition_concept_id' },
      ConditionSourceConcept: { kind: 'codeset', column: 'condition_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      OccurrenceEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      ...typed('Condition', 'condition_type_concept_id'),
      StopReason: { kind: 'text', column: 'C.stop_reason' },
      ...conceptField('ConditionStatus', 'condition_status_concept_id'),
      ...age(),
      ...gender,
      ...provider,
      ...visitType,
    },
  },
  ConditionEra: {
    table: 'condition_era',
    alias: 'ce',
    eventId: 'condition_era_id',
    start: 'ce.condition_era_start_date',
    end: 'ce.condition_era_end_date',
    hasVisit: false,
    domainConcept: 'C.condition_concept_id',
    firstOrder: 'ce.condition_era_start_date, ce.condition_era_id',
    fields: {
      ...eraFields('condition_concept_id'),
      OccurrenceCount: { kind: 'numericRange', expr: 'C.condition_occurrence_count', decimal: false },
    },
  },
  Death: {
    table: 'death',
    alias: 'd',
    eventId: 'person_id',
    start: 'd.death_date',
    end: '(d.death_date + 1)',
    hasVisit: false,
    domainConcept: 'COALESCE(C.cause_concept_id, 0)',
    firstOrder: 'd.death_date',
    fields: {
      CodesetId: { kind: 'codeset', column: 'cause_concept_id' },
      DeathSourceConcept: { kind: 'codeset', column: 'cause_source_concept_id' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      ...typed('Death', 'death_type_concept_id'),
      ...age(),
      ...gender,
    },
  },
  DeviceExposure: {
    table: 'device_exposure',
    alias: 'de',
    eventId: 'device_exposure_id',
    start: 'de.device_exposure_start_date',
    end: 'COALESCE(de.device_exposure_end_date, de.device_exposure_start_date + 1)',
    hasVisit: true,
    domainConcept: 'C.device_concept_id',
    firstOrder: 'de.device_exposure_start_date, de.device_exposure_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'device_concept_id' },
      DeviceSourceConcept: { kind: 'codeset', column: 'device_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      OccurrenceEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      ...typed('Device', 'device_type_concept_id'),
      UniqueDeviceId: { kind: 'text', column: 'C.unique_device_id' },
      Quantity: { kind: 'numericRange', expr: 'C.quantity', decimal: false },
      ...age(),
      ...gender,
      ...provider,
      ...visitType,
    },
  },
  DoseEra: {
    table: 'dose_era',
    alias: 'de',
    eventId: 'dose_era_id',
    start: 'de.dose_era_start_date',
    end: 'de.dose_era_end_date',
    hasVisit: false,
    domainConcept: 'C.drug_concept_id',
    firstOrder: 'de.dose_era_start_date, de.dose_era_id',
    fields: {
      ...eraFields('drug_concept_id'),
      ...conceptField('Unit', 'unit_concept_id'),
      DoseValue: { kind: 'numericRange', expr: 'C.dose_value', decimal: true },
    },
  },
  DrugEra: {
    table: 'drug_era',
    alias: 'de',
    eventId: 'drug_era_id',
    start: 'de.drug_era_start_date',
    end: 'de.drug_era_end_date',
    hasVisit: false,
    domainConcept: 'C.drug_concept_id',
    firstOrder: 'de.drug_era_start_date, de.drug_era_id',
    fields: {
      ...eraFields('drug_concept_id'),
      OccurrenceCount: { kind: 'numericRange', expr: 'C.drug_exposure_count', decimal: false },
      GapDays: { kind: 'numericRange', expr: 'C.gap_days', decimal: false },
    },
  },
  DrugExposure: {
    table: 'drug_exposure',
    alias: 'de',
    eventId: 'drug_exposure_id',
    start: 'de.drug_exposure_start_date',
    end: 'COALESCE(de.drug_exposure_end_date, de.drug_exposure_start_date + de.days_supply, de.drug_exposure_start_date + 1)',
    hasVisit: true,
    domainConcept: 'C.drug_concept_id',
    firstOrder: 'de.drug_exposure_start_date, de.drug_exposure_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'drug_concept_id' },
      DrugSourceConcept: { kind: 'codeset', column: 'drug_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      OccurrenceEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      ...typed('Drug', 'drug_type_concept_id'),
      StopReason: { kind: 'text', column: 'C.stop_reason' },
      Refills: { kind: 'numericRange', expr: 'C.refills', decimal: false },
      Quantity: { kind: 'numericRange', expr: 'C.quantity', decimal: true },
      DaysSupply: { kind: 'numericRange', expr: 'C.days_supply', decimal: false },
      ...conceptField('RouteConcept', 'route_concept_id'),
      // CDM v5.4 has no effective_drug_dose/dose_unit_concept_id columns: those stay unsupported.
      LotNumber: { kind: 'text', column: 'C.lot_number' },
      ...age(),
      ...gender,
      ...provider,
      ...visitType,
    },
  },
  Measurement: {
    table: 'measurement',
    alias: 'm',
    eventId: 'measurement_id',
    start: 'm.measurement_date',
    end: '(m.measurement_date + 1)',
    hasVisit: true,
    domainConcept: 'C.measurement_concept_id',
    firstOrder: 'm.measurement_date, m.measurement_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'measurement_concept_id' },
      MeasurementSourceConcept: { kind: 'codeset', column: 'measurement_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      ...typed('Measurement', 'measurement_type_concept_id'),
      ...conceptField('Operator', 'operator_concept_id'),
      ValueAsNumber: { kind: 'numericRange', expr: 'C.value_as_number', decimal: true },
      ...conceptField('ValueAsConcept', 'value_as_concept_id'),
      ...conceptField('Unit', 'unit_concept_id'),
      RangeLow: { kind: 'numericRange', expr: 'C.range_low', decimal: true },
      RangeHigh: { kind: 'numericRange', expr: 'C.range_high', decimal: true },
      RangeLowRatio: {
        kind: 'numericRange',
        expr: '(C.value_as_number / NULLIF(C.range_low, 0))',
        decimal: true,
      },
      RangeHighRatio: {
        kind: 'numericRange',
        expr: '(C.value_as_number / NULLIF(C.range_high, 0))',
        decimal: true,
      },
      Abnormal: { kind: 'abnormal' },
      ...age(),
      ...gender,
      ...provider,
      ...visitType,
    },
  },
  Observation: {
    table: 'observation',
    alias: 'o',
    eventId: 'observation_id',
    start: 'o.observation_date',
    end: '(o.observation_date + 1)',
    hasVisit: true,
    domainConcept: 'C.observation_concept_id',
    firstOrder: 'o.observation_date, o.observation_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'observation_concept_id' },
      ObservationSourceConcept: { kind: 'codeset', column: 'observation_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      ...typed('Observation', 'observation_type_concept_id'),
      ValueAsNumber: { kind: 'numericRange', expr: 'C.value_as_number', decimal: true },
      ValueAsString: { kind: 'text', column: 'C.value_as_string' },
      ...conceptField('ValueAsConcept', 'value_as_concept_id'),
      ...conceptField('Qualifier', 'qualifier_concept_id'),
      ...conceptField('Unit', 'unit_concept_id'),
      ...age(),
      ...gender,
      ...provider,
      ...visitType,
    },
  },
  ObservationPeriod: {
    table: 'observation_period',
    alias: 'op',
    eventId: 'observation_period_id',
    start: 'op.observation_period_start_date',
    end: 'op.observation_period_end_date',
    hasVisit: false,
    domainConcept: 'C.period_type_concept_id',
    firstOrder: 'op.observation_period_start_date',
    rankAllRows: true,
    fields: {
      First: { kind: 'first' },
      PeriodStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      PeriodEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      UserDefinedPeriod: { kind: 'userDefinedPeriod' },
      PeriodType: { kind: 'concepts', column: 'C.period_type_concept_id' },
      PeriodTypeCS: { kind: 'conceptSet', column: 'C.period_type_concept_id' },
      PeriodLength: { kind: 'numericRange', expr: '(C.end_date - C.start_date)', decimal: false },
      ...age('C.start_date', 'AgeAtStart'),
      ...age('C.end_date', 'AgeAtEnd'),
    },
  },
  PayerPlanPeriod: {
    table: 'payer_plan_period',
    alias: 'ppp',
    eventId: 'payer_plan_period_id',
    start: 'ppp.payer_plan_period_start_date',
    end: 'ppp.payer_plan_period_end_date',
    hasVisit: false,
    domainConcept: 'C.payer_concept_id',
    firstOrder: 'ppp.payer_plan_period_start_date',
    rankAllRows: true,
    fields: {
      First: { kind: 'first' },
      PeriodStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      PeriodEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      UserDefinedPeriod: { kind: 'userDefinedPeriod' },
      PeriodLength: { kind: 'numericRange', expr: '(C.end_date - C.start_date)', decimal: false },
      ...age('C.start_date', 'AgeAtStart'),
      ...age('C.end_date', 'AgeAtEnd'),
      ...gender,
      PayerConcept: { kind: 'codesetFilter', column: 'C.payer_concept_id' },
      PlanConcept: { kind: 'codesetFilter', column: 'C.plan_concept_id' },
      SponsorConcept: { kind: 'codesetFilter', column: 'C.sponsor_concept_id' },
      StopReasonConcept: { kind: 'codesetFilter', column: 'C.stop_reason_concept_id' },
      PayerSourceConcept: { kind: 'codesetFilter', column: 'C.payer_source_concept_id' },
      PlanSourceConcept: { kind: 'codesetFilter', column: 'C.plan_source_concept_id' },
      SponsorSourceConcept: { kind: 'codesetFilter', column: 'C.sponsor_source_concept_id' },
      StopReasonSourceConcept: { kind: 'codesetFilter', column: 'C.stop_reason_source_concept_id' },
    },
  },
  ProcedureOccurrence: {
    table: 'procedure_occurrence',
    alias: 'po',
    eventId: 'procedure_occurrence_id',
    start: 'po.procedure_date',
    end: '(po.procedure_date + 1)',
    hasVisit: true,
    domainConcept: 'C.procedure_concept_id',
    firstOrder: 'po.procedure_date, po.procedure_occurrence_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'procedure_concept_id' },
      ProcedureSourceConcept: { kind: 'codeset', column: 'procedure_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      ...typed('Procedure', 'procedure_type_concept_id'),
      ...conceptField('Modifier', 'modifier_concept_id'),
      Quantity: { kind: 'numericRange', expr: 'C.quantity', decimal: false },
      ...age(),
      ...gender,
      ...provider,
      ...visitType,
    },
  },
  Specimen: {
    table: 'specimen',
    alias: 's',
    eventId: 'specimen_id',
    start: 's.specimen_date',
    end: '(s.specimen_date + 1)',
    hasVisit: false,
    domainConcept: 'C.specimen_concept_id',
    firstOrder: 's.specimen_date, s.specimen_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'specimen_concept_id' },
      SpecimenSourceConcept: { kind: 'codeset', column: 'specimen_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      ...typed('Specimen', 'specimen_type_concept_id'),
      Quantity: { kind: 'numericRange', expr: 'C.quantity', decimal: true },
      ...conceptField('Unit', 'unit_concept_id'),
      ...conceptField('AnatomicSite', 'anatomic_site_concept_id'),
      ...conceptField('DiseaseStatus', 'disease_status_concept_id'),
      SourceId: { kind: 'text', column: 'C.specimen_source_id' },
      ...age(),
      ...gender,
    },
  },
  VisitOccurrence: {
    table: 'visit_occurrence',
    alias: 'vo',
    eventId: 'visit_occurrence_id',
    start: 'vo.visit_start_date',
    end: 'vo.visit_end_date',
    hasVisit: true,
    domainConcept: 'C.visit_concept_id',
    firstOrder: 'vo.visit_start_date, vo.visit_occurrence_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'visit_concept_id' },
      VisitSourceConcept: { kind: 'codeset', column: 'visit_source_concept_id' },
      First: { kind: 'first' },
      OccurrenceStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      OccurrenceEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      // In Circe, VisitOccurrence.VisitType is the visit's type concept (not the joined visit).
      VisitType: {
        kind: 'concepts',
        column: 'C.visit_type_concept_id',
        excludeFlag: 'VisitTypeExclude',
      },
      VisitTypeCS: { kind: 'conceptSet', column: 'C.visit_type_concept_id' },
      VisitTypeExclude: { kind: 'flag' },
      VisitLength: { kind: 'numericRange', expr: '(C.end_date - C.start_date)', decimal: false },
      PlaceOfService: { kind: 'concepts', column: 'CS.place_of_service_concept_id', join: 'careSite' },
      PlaceOfServiceCS: { kind: 'conceptSet', column: 'CS.place_of_service_concept_id', join: 'careSite' },
      ...age(),
      ...gender,
      ...provider,
    },
  },
  VisitDetail: {
    table: 'visit_detail',
    alias: 'vd',
    eventId: 'visit_detail_id',
    start: 'vd.visit_detail_start_date',
    end: 'vd.visit_detail_end_date',
    hasVisit: true,
    domainConcept: 'C.visit_detail_concept_id',
    firstOrder: 'vd.visit_detail_start_date, vd.visit_detail_id',
    fields: {
      CodesetId: { kind: 'codeset', column: 'visit_detail_concept_id' },
      VisitDetailSourceConcept: { kind: 'codeset', column: 'visit_detail_source_concept_id' },
      First: { kind: 'first' },
      VisitDetailStartDate: { kind: 'dateRange', expr: 'C.start_date' },
      VisitDetailEndDate: { kind: 'dateRange', expr: 'C.end_date' },
      VisitDetailTypeCS: { kind: 'conceptSet', column: 'C.visit_detail_type_concept_id' },
      VisitDetailLength: { kind: 'numericRange', expr: '(C.end_date - C.start_date)', decimal: false },
      ...age(),
      GenderCS: gender.GenderCS!,
      ProviderSpecialtyCS: provider.ProviderSpecialtyCS!,
      PlaceOfServiceCS: { kind: 'conceptSet', column: 'CS.place_of_service_concept_id', join: 'careSite' },
    },
  },
} satisfies Record<string, DomainSpec>;

export type CriteriaDomainName = keyof typeof DOMAINS;
export const CRITERIA_DOMAINS = Object.keys(DOMAINS) as CriteriaDomainName[];

export function domainSpec(name: CriteriaDomainName): DomainSpec {
  return DOMAINS[name];
}

function fieldSchema(kind: FieldKind): z.ZodType {
  switch (kind.kind) {
    case 'codeset':
    case 'codesetFilter':
      return z.number().int().min(0).nullish();
    case 'first':
    case 'flag':
    case 'abnormal':
      return z.boolean().nullish();
    case 'dateRange':
      return DateRangeSchema.nullish();
    case 'numericRange':
      return NumericRangeSchema.nullish();
    case 'concepts':
      return z.array(ConceptRefSchema).nullish();
    case 'conceptSet':
      return ConceptSetSelectionSchema.nullish();
    case 'text':
      return TextFilterSchema.nullish();
    case 'userDefinedPeriod':
      return PeriodSchema.nullish();
  }
}

/** zod shapes of a domain's attributes (used by the expression schema). */
export function domainFieldSchemas(name: CriteriaDomainName): Record<string, z.ZodType> {
  return Object.fromEntries(
    Object.entries(domainSpec(name).fields).map(([field, kind]) => [field, fieldSchema(kind)]),
  );
}
