/**
 * Medication{Request,Administration,Statement,Dispense} and Immunization → drug_exposure (or
 * the table the drug code's domain selects). Each source has its own drug_type_concept_id,
 * as in the FHIR-to-OMOP IG and the golden cases.
 *
 * End date: OMOP CDM v5.4 requires `drug_exposure_end_date`; when the source gives a days
 * supply the end is `start + days_supply − 1` (CDM v5.4 DRUG_EXPOSURE user guide), else the
 * source's own end, else the start.
 */
import { addDays, type OmopDate } from '../datetime.ts';
import { referenceTo } from '../references.ts';
import type { FhirResource, Quantity } from '../types.ts';
import { type ResolvedCode, resolveCodeableConcept } from '../vocabulary.ts';
import { TYPE_CONCEPT } from './clinical.ts';
import { type DrugDetails, routeEvent } from './events.ts';
import {
  arr,
  codeable,
  excludeStatus,
  firstPresent,
  type MappingContext,
  num,
  obj,
  optionalDate,
  optionalId,
  quarantine,
  type RowCollector,
  requireDate,
  requireId,
  requirePerson,
  str,
} from './shared.ts';

/** drug_type_concept_id per source (OMOP "Drug Type" / "Type Concept"). */
export const DRUG_TYPE_CONCEPT = {
  MedicationRequest: 38000177,
  MedicationStatement: 38000178,
  MedicationAdministration: 38000179,
  MedicationDispense: 38000176,
  Immunization: TYPE_CONCEPT.ehrEncounterRecord,
} as const;

const DRUG_PRIORITY = ['RxNorm', 'NDC', 'SNOMED', 'EDI', 'ATC'];
const VACCINE_PRIORITY = ['CVX', 'RxNorm', 'SNOMED'];

/** The code of `medication[x]`: inline, a contained Medication, or one the caller resolves. */
function medicationCode(resource: FhirResource, context: MappingContext): ResolvedCode {
  const inline = codeable(resource.medicationCodeableConcept);
  let concept = inline;
  const reference = obj(resource.medicationReference);
  if (!concept && reference) {
    const text = str(reference.reference);
    const contained = text?.startsWith('#')
      ? arr(resource.contained)
          .map(obj)
          .find((c) => c?.resourceType === 'Medication' && `#${c.id}` === text)
      : undefined;
    const key = referenceTo(reference, ['Medication']);
    const medication = contained ?? (key ? context.medication?.(key) : undefined);
    if (!medication) {
      throw quarantine(
        'unresolved_medication',
        `${resource.resourceType}.medicationReference ${text ?? ''} not found`,
      );
    }
    concept = codeable(medication.code);
  }
  const code = resolveCodeableConcept(concept, context.concepts, DRUG_PRIORITY);
  if (!code) throw quarantine('missing_code', `no ${resource.resourceType}.medication[x] code`);
  return code;
}

/** A duration (FHIR Duration, UCUM units) in whole days. */
function durationDays(duration: unknown): number | undefined {
  const d = obj(duration) as Quantity | undefined;
  const value = num(d?.value);
  if (value === undefined) return undefined;
  const unit = str(d?.code) ?? str(d?.unit) ?? 'd';
  const perUnit: Record<string, number> = {
    d: 1,
    day: 1,
    days: 1,
    wk: 7,
    week: 7,
    weeks: 7,
    mo: 30,
    month: 30,
  };
  const factor = perUnit[unit];
  return factor === undefined ? undefined : Math.round(value * factor);
}

function supplyEnd(
  start: OmopDate,
  daysSupply: number | undefined,
  fallback: OmopDate | null,
): OmopDate | null {
  if (daysSupply === undefined || daysSupply < 1) return fallback;
  const date = addDays(start.date, daysSupply - 1);
  return { ...start, date, datetime: `${date}${start.datetime.slice(10)}` };
}

function dosageDetails(dosage: Record<string, unknown> | undefined, context: MappingContext): DrugDetails {
  const details: DrugDetails = {};
  const sig = str(dosage?.text);
  if (sig) details.sig = sig;
  const route = resolveCodeableConcept(codeable(dosage?.route), context.concepts, ['SNOMED']);
  if (route?.sourceValue) details.routeSourceValue = route.sourceValue;
  if (route?.targets[0]) details.routeConceptId = route.targets[0].concept_id;
  return details;
}

function emit(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
  fields: {
    id: string;
    personId: number;
    visitId: number | null;
    providerId: number | null;
    start: OmopDate;
    end: OmopDate | null;
    code: ResolvedCode;
    drug: DrugDetails;
  },
): void {
  routeEvent(
    {
      resourceType: resource.resourceType,
      resourceId: fields.id,
      personId: fields.personId,
      visitId: fields.visitId,
      providerId: fields.providerId,
      start: fields.start,
      end: fields.end,
      typeConceptId: DRUG_TYPE_CONCEPT[resource.resourceType as keyof typeof DRUG_TYPE_CONCEPT],
      code: fields.code,
      defaultTable: 'drug_exposure',
      drug: fields.drug,
    },
    context,
    out,
  );
}

/** FHIR R4 MedicationRequest → drug_exposure, type "Prescription written"; dated by authoredOn. */
export function mapMedicationRequest(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  excludeStatus(resource, ['entered-in-error', 'cancelled', 'draft', 'unknown']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'MedicationRequest.subject');
  const start = requireDate(resource.authoredOn, 'MedicationRequest.authoredOn');
  const code = medicationCode(resource, context);
  const dispense = obj(resource.dispenseRequest);
  const drug = dosageDetails(obj(arr(resource.dosageInstruction)[0]), context);
  const daysSupply = durationDays(dispense?.expectedSupplyDuration);
  if (daysSupply !== undefined) drug.daysSupply = daysSupply;
  const quantity = num(obj(dispense?.quantity)?.value);
  if (quantity !== undefined) drug.quantity = quantity;
  const refills = num(dispense?.numberOfRepeatsAllowed);
  if (refills !== undefined) drug.refills = refills;
  emit(resource, context, out, {
    id,
    personId,
    visitId: optionalId(context, resource.encounter, ['Encounter']),
    providerId: optionalId(context, resource.requester, ['Practitioner']),
    start,
    end: supplyEnd(start, daysSupply, null),
    code,
    drug,
  });
}

/** FHIR R4 MedicationAdministration → drug_exposure, type "Physician administered drug". */
export function mapMedicationAdministration(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  excludeStatus(resource, ['entered-in-error', 'not-done', 'unknown']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'MedicationAdministration.subject');
  const period = obj(resource.effectivePeriod);
  const start = requireDate(
    firstPresent(resource.effectiveDateTime, period?.start),
    'MedicationAdministration.effective[x]',
  );
  const end = optionalDate(period?.end, 'MedicationAdministration.effectivePeriod.end');
  const code = medicationCode(resource, context);
  const dosage = obj(resource.dosage);
  const drug = dosageDetails(dosage, context);
  const dose = obj(dosage?.dose) as Quantity | undefined;
  if (num(dose?.value) !== undefined) drug.quantity = dose!.value!;
  const doseUnit = str(dose?.unit) ?? str(dose?.code);
  if (doseUnit) drug.doseUnitSourceValue = doseUnit;
  emit(resource, context, out, {
    id,
    personId,
    visitId: optionalId(context, resource.context, ['Encounter']),
    providerId: optionalId(context, obj(arr(resource.performer)[0])?.actor, ['Practitioner']),
    start,
    end,
    code,
    drug,
  });
}

/** FHIR R4 MedicationStatement → drug_exposure, type "Medication list entry". */
export function mapMedicationStatement(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  excludeStatus(resource, ['entered-in-error', 'cancelled', 'not-taken']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'MedicationStatement.subject');
  const period = obj(resource.effectivePeriod);
  const start = requireDate(
    firstPresent(resource.effectiveDateTime, period?.start),
    'MedicationStatement.effective[x]',
  );
  const end = optionalDate(period?.end, 'MedicationStatement.effectivePeriod.end');
  const code = medicationCode(resource, context);
  emit(resource, context, out, {
    id,
    personId,
    visitId: optionalId(context, resource.context, ['Encounter']),
    providerId: null,
    start,
    end,
    code,
    drug: dosageDetails(obj(arr(resource.dosage)[0]), context),
  });
}

/** FHIR R4 MedicationDispense → drug_exposure, dated by whenHandedOver; days supply sets the end. */
export function mapMedicationDispense(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  excludeStatus(resource, ['entered-in-error', 'cancelled', 'declined']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'MedicationDispense.subject');
  const start = requireDate(
    firstPresent(resource.whenHandedOver, resource.whenPrepared),
    'MedicationDispense.whenHandedOver',
  );
  const code = medicationCode(resource, context);
  const drug = dosageDetails(obj(arr(resource.dosageInstruction)[0]), context);
  const quantity = num(obj(resource.quantity)?.value);
  if (quantity !== undefined) drug.quantity = quantity;
  const daysSupply = durationDays(resource.daysSupply);
  if (daysSupply !== undefined) drug.daysSupply = daysSupply;
  emit(resource, context, out, {
    id,
    personId,
    visitId: optionalId(context, resource.context, ['Encounter']),
    providerId: optionalId(context, obj(arr(resource.performer)[0])?.actor, ['Practitioner']),
    start,
    end: supplyEnd(start, daysSupply, null),
    code,
    drug,
  });
}

/**
 * FHIR R4 Immunization → drug_exposure (vaccines are drugs in OMOP). CVX first; a CVX code
 * without a standard mapping keeps its source concept with drug_concept_id 0.
 */
export function mapImmunization(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  excludeStatus(resource, ['entered-in-error', 'not-done']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.patient, 'Immunization.patient');
  if (resource.occurrenceDateTime === undefined && str(resource.occurrenceString)) {
    throw quarantine(
      'missing_date',
      `Immunization.occurrenceString is not a date: ${resource.occurrenceString}`,
    );
  }
  const start = requireDate(resource.occurrenceDateTime, 'Immunization.occurrenceDateTime');
  const code = resolveCodeableConcept(codeable(resource.vaccineCode), context.concepts, VACCINE_PRIORITY);
  if (!code) throw quarantine('missing_code', 'no Immunization.vaccineCode');
  const drug: DrugDetails = {};
  const lot = str(resource.lotNumber);
  if (lot) drug.lotNumber = lot;
  const dose = obj(resource.doseQuantity) as Quantity | undefined;
  if (num(dose?.value) !== undefined) drug.quantity = dose!.value!;
  const doseUnit = str(dose?.unit) ?? str(dose?.code);
  if (doseUnit) drug.doseUnitSourceValue = doseUnit;
  const route = resolveCodeableConcept(codeable(resource.route), context.concepts, ['SNOMED']);
  if (route?.sourceValue) drug.routeSourceValue = route.sourceValue;
  if (route?.targets[0]) drug.routeConceptId = route.targets[0].concept_id;
  emit(resource, context, out, {
    id,
    personId,
    visitId: optionalId(context, resource.encounter, ['Encounter']),
    providerId: optionalId(context, obj(arr(resource.performer)[0])?.actor, ['Practitioner']),
    start,
    end: null,
    code,
    drug,
  });
}
