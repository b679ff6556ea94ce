/**
 * Clinical events and domain routing. OMOP puts a fact in the table its standard concept's
 * domain names, whatever FHIR resource carried it (CDM v5.4 conventions, "Domains";
 * FHIR-to-OMOP IG, "Domain-driven mapping"): a SNOMED code on an Observation whose standard
 * concept is a Condition becomes a condition_occurrence row. A code that maps to several
 * standard concepts gives one row per target; an unmapped code stays in the resource's own
 * table with concept 0.
 */
import type { OmopDate } from '../datetime.ts';
import { DERIVED_NAMESPACES } from '../ids.ts';
import type { OmopValue } from '../types.ts';
import type { ConceptInfo, ResolvedCode } from '../vocabulary.ts';
import { cut, type MappingContext, type RowCollector } from './shared.ts';

export type EventTable =
  | 'condition_occurrence'
  | 'procedure_occurrence'
  | 'drug_exposure'
  | 'device_exposure'
  | 'measurement'
  | 'observation'
  | 'specimen';

/** Standard concept domain → the OMOP table it lives in. */
const DOMAIN_TABLE: Readonly<Record<string, EventTable>> = {
  Condition: 'condition_occurrence',
  Procedure: 'procedure_occurrence',
  Drug: 'drug_exposure',
  Device: 'device_exposure',
  Measurement: 'measurement',
  'Meas Value': 'measurement',
  Observation: 'observation',
  Specimen: 'specimen',
};

/** The `<prefix>_concept_id` column of each event table. */
export const CONCEPT_COLUMN: Readonly<Record<EventTable, string>> = {
  condition_occurrence: 'condition_concept_id',
  procedure_occurrence: 'procedure_concept_id',
  drug_exposure: 'drug_concept_id',
  device_exposure: 'device_concept_id',
  measurement: 'measurement_concept_id',
  observation: 'observation_concept_id',
  specimen: 'specimen_concept_id',
};

/** A result value (FHIR value[x]) spread over OMOP value columns. */
export interface EventValue {
  number?: number;
  operatorConceptId?: number;
  unitConceptId?: number;
  unitSourceValue?: string;
  /** value_as_concept_id of a coded answer. */
  conceptId?: number;
  /** The coded answer's text (value_source_value). */
  codeText?: string;
  /** A plain string / boolean / date answer (observation.value_as_string). */
  string?: string;
  rangeLow?: number;
  rangeHigh?: number;
}

export interface DrugDetails {
  quantity?: number;
  daysSupply?: number;
  refills?: number;
  sig?: string;
  routeConceptId?: number;
  routeSourceValue?: string;
  lotNumber?: string;
  doseUnitSourceValue?: string;
  verbatimEndDate?: string;
  stopReason?: string;
}

/** One fact about a person, before its table is chosen. */
export interface ClinicalEvent {
  resourceType: string;
  resourceId: string;
  /** Distinguishes several events of one resource (`component/0`). */
  part?: string | undefined;
  personId: number;
  visitId: number | null;
  providerId: number | null;
  start: OmopDate;
  end: OmopDate | null;
  typeConceptId: number;
  code: ResolvedCode;
  /** The table for an unmapped code, and for domains with no event table. */
  defaultTable: EventTable;
  /** Keep the default table whatever the domain (imaging procedures, specimens). */
  fixedTable?: boolean;
  value?: EventValue;
  qualifierSourceValue?: string | undefined;
  conditionStatus?: { conceptId: number; sourceValue: string | null };
  drug?: DrugDetails;
  device?: { uniqueDeviceId?: string; productionId?: string };
  specimen?: {
    quantity?: number;
    unitConceptId?: number;
    unitSourceValue?: string;
    anatomicSiteConceptId: number;
    anatomicSiteSourceValue?: string;
  };
  /**
   * Value-as-concept pattern (FHIR-to-OMOP IG, "Value as Concept"): a target that is a
   * substance becomes `value_as_concept_id` under this observation concept (allergies).
   */
  substanceAs?: { observationConceptId: number };
}

/** Emit the rows of one event, one per standard target; returns the ids and tables used. */
export function routeEvent(
  event: ClinicalEvent,
  context: MappingContext,
  out: RowCollector,
): { table: EventTable; id: number }[] {
  const found = event.code.targets;
  const targets: readonly (ConceptInfo | null)[] =
    found.length === 0 ? [null] : found.length === 1 ? found : [...found].sort(byConceptId);
  const emitted: { table: EventTable; id: number }[] = [];
  for (let index = 0; index < targets.length; index++) {
    const target = targets[index]!;
    const substance = event.substanceAs !== undefined && target !== null && isSubstance(target);
    let table: EventTable = event.defaultTable;
    if (substance) table = 'observation';
    else if (target && !event.fixedTable) table = DOMAIN_TABLE[target.domain_id] ?? event.defaultTable;
    const id = eventRowId(event, index, context);
    const conceptId = substance ? event.substanceAs!.observationConceptId : (target?.concept_id ?? 0);
    const value = substance ? { ...event.value, conceptId: target.concept_id } : event.value;
    out.add(table, buildEventRow(table, event, value, id, conceptId));
    if (conceptId === 0) out.reportUnmapped(table, CONCEPT_COLUMN[table], event.code);
    emitted.push({ table, id });
  }
  return emitted;
}

function byConceptId(a: ConceptInfo, b: ConceptInfo): number {
  return a.concept_id - b.concept_id;
}

/** The first row of a resource takes the resource's own id; the others get derived ids. */
function eventRowId(event: ClinicalEvent, index: number, context: MappingContext): number {
  if (event.part === undefined && index === 0) return context.ids.idFor(event.resourceType, event.resourceId);
  const key = `${event.resourceType}/${event.resourceId}#${event.part ?? ''}/${index}`;
  return context.ids.idFor(DERIVED_NAMESPACES.row, key);
}

function isSubstance(concept: ConceptInfo): boolean {
  return (
    concept.domain_id === 'Drug' ||
    concept.concept_class_id === 'Substance' ||
    concept.concept_class_id === 'Ingredient'
  );
}

const n = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

function buildEventRow(
  table: EventTable,
  event: ClinicalEvent,
  value: EventValue | undefined,
  id: number,
  conceptId: number,
): Record<string, OmopValue> {
  const { start, end, code } = event;
  const sourceValue = cut(code.sourceValue, 50);
  const sourceConceptId = code.sourceConceptId;
  switch (table) {
    case 'condition_occurrence':
      return {
        condition_occurrence_id: id,
        person_id: event.personId,
        condition_concept_id: conceptId,
        condition_start_date: start.date,
        condition_start_datetime: start.datetime,
        condition_end_date: end?.date ?? null,
        condition_end_datetime: end?.datetime ?? null,
        condition_type_concept_id: event.typeConceptId,
        condition_status_concept_id: event.conditionStatus?.conceptId ?? 0,
        stop_reason: null,
        provider_id: event.providerId,
        visit_occurrence_id: event.visitId,
        visit_detail_id: null,
        condition_source_value: sourceValue,
        condition_source_concept_id: sourceConceptId,
        condition_status_source_value: cut(event.conditionStatus?.sourceValue, 50),
      };
    case 'procedure_occurrence':
      return {
        procedure_occurrence_id: id,
        person_id: event.personId,
        procedure_concept_id: conceptId,
        procedure_date: start.date,
        procedure_datetime: start.datetime,
        procedure_end_date: end?.date ?? null,
        procedure_end_datetime: end?.datetime ?? null,
        procedure_type_concept_id: event.typeConceptId,
        modifier_concept_id: null,
        quantity: null,
        provider_id: event.providerId,
        visit_occurrence_id: event.visitId,
        visit_detail_id: null,
        procedure_source_value: sourceValue,
        procedure_source_concept_id: sourceConceptId,
        modifier_source_value: null,
      };
    case 'drug_exposure': {
      const drug = event.drug ?? {};
      return {
        drug_exposure_id: id,
        person_id: event.personId,
        drug_concept_id: conceptId,
        drug_exposure_start_date: start.date,
        drug_exposure_start_datetime: start.datetime,
        // Required by CDM v5.4: the start when the source gives no end.
        drug_exposure_end_date: (end ?? start).date,
        drug_exposure_end_datetime: (end ?? start).datetime,
        verbatim_end_date: n(drug.verbatimEndDate),
        drug_type_concept_id: event.typeConceptId,
        stop_reason: cut(drug.stopReason, 20),
        refills: n(drug.refills),
        quantity: n(drug.quantity),
        days_supply: n(drug.daysSupply),
        sig: n(drug.sig),
        route_concept_id: n(drug.routeConceptId),
        lot_number: cut(drug.lotNumber, 50),
        provider_id: event.providerId,
        visit_occurrence_id: event.visitId,
        visit_detail_id: null,
        drug_source_value: sourceValue,
        drug_source_concept_id: sourceConceptId,
        route_source_value: cut(drug.routeSourceValue, 50),
        dose_unit_source_value: cut(drug.doseUnitSourceValue, 50),
      };
    }
    case 'device_exposure':
      return {
        device_exposure_id: id,
        person_id: event.personId,
        device_concept_id: conceptId,
        device_exposure_start_date: start.date,
        device_exposure_start_datetime: start.datetime,
        device_exposure_end_date: end?.date ?? null,
        device_exposure_end_datetime: end?.datetime ?? null,
        device_type_concept_id: event.typeConceptId,
        unique_device_id: cut(event.device?.uniqueDeviceId, 255),
        production_id: cut(event.device?.productionId, 255),
        quantity: null,
        provider_id: event.providerId,
        visit_occurrence_id: event.visitId,
        visit_detail_id: null,
        device_source_value: sourceValue,
        device_source_concept_id: sourceConceptId,
        unit_concept_id: null,
        unit_source_value: null,
        unit_source_concept_id: null,
      };
    case 'measurement':
      return {
        measurement_id: id,
        person_id: event.personId,
        measurement_concept_id: conceptId,
        measurement_date: start.date,
        measurement_datetime: start.datetime,
        measurement_time: null,
        measurement_type_concept_id: event.typeConceptId,
        operator_concept_id: n(value?.operatorConceptId),
        value_as_number: n(value?.number),
        value_as_concept_id: n(value?.conceptId),
        unit_concept_id: n(value?.unitConceptId),
        range_low: n(value?.rangeLow),
        range_high: n(value?.rangeHigh),
        provider_id: event.providerId,
        visit_occurrence_id: event.visitId,
        visit_detail_id: null,
        measurement_source_value: sourceValue,
        measurement_source_concept_id: sourceConceptId,
        unit_source_value: cut(value?.unitSourceValue, 50),
        unit_source_concept_id: null,
        // Measurement has no value_as_string: a text result is kept here.
        value_source_value: cut(value?.codeText ?? value?.string, 50),
        measurement_event_id: null,
        meas_event_field_concept_id: null,
      };
    case 'observation':
      return {
        observation_id: id,
        person_id: event.personId,
        observation_concept_id: conceptId,
        observation_date: start.date,
        observation_datetime: start.datetime,
        observation_type_concept_id: event.typeConceptId,
        value_as_number: n(value?.number),
        value_as_string: cut(value?.string, 60),
        value_as_concept_id: n(value?.conceptId),
        qualifier_concept_id: null,
        unit_concept_id: n(value?.unitConceptId),
        provider_id: event.providerId,
        visit_occurrence_id: event.visitId,
        visit_detail_id: null,
        observation_source_value: sourceValue,
        observation_source_concept_id: sourceConceptId,
        unit_source_value: cut(value?.unitSourceValue, 50),
        qualifier_source_value: cut(event.qualifierSourceValue, 50),
        value_source_value: cut(value?.codeText, 50),
        observation_event_id: null,
        obs_event_field_concept_id: null,
      };
    case 'specimen': {
      const specimen = event.specimen;
      return {
        specimen_id: id,
        person_id: event.personId,
        specimen_concept_id: conceptId,
        specimen_type_concept_id: event.typeConceptId,
        specimen_date: start.date,
        specimen_datetime: start.datetime,
        quantity: n(specimen?.quantity),
        unit_concept_id: n(specimen?.unitConceptId),
        anatomic_site_concept_id: specimen?.anatomicSiteConceptId ?? 0,
        disease_status_concept_id: null,
        specimen_source_id: null,
        specimen_source_value: sourceValue,
        unit_source_value: cut(specimen?.unitSourceValue, 50),
        anatomic_site_source_value: cut(specimen?.anatomicSiteSourceValue, 50),
        disease_status_source_value: null,
      };
    }
  }
}
