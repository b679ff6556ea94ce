/**
 * Clinical resources → OMOP event tables, routed by domain (see `events.ts`): Condition,
 * Observation (with components), Procedure, AllergyIntolerance, Device, Specimen.
 * Element choices follow the FHIR-to-OMOP IG and the golden cases in
 * `../shared/data/fhir2omop-cases` (differences in `src/fhir/DEVIATIONS.md`).
 */
import { daysBetween, type OmopDate } from '../datetime.ts';
import type { FhirResource, Quantity } from '../types.ts';
import {
  resolveCodeableConcept,
  resolveCoding,
  standardTargets,
  unitConcept,
  valueConcept,
} from '../vocabulary.ts';
import { type EventValue, routeEvent } from './events.ts';
import {
  arr,
  codeable,
  excludeStatus,
  firstCode,
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
  skip,
  str,
} from './shared.ts';

/** Type concepts (OMOP "Type Concept" domain, CDM v5.4). */
export const TYPE_CONCEPT = {
  ehr: 32817,
  ehrEncounterRecord: 32827,
  ehrProblemList: 32840,
  lab: 32856,
} as const;

/** Comparator of a FHIR Quantity → OMOP "Meas Value Operator" concept (SNOMED qualifiers). */
const OPERATOR_CONCEPT: Readonly<Record<string, number>> = {
  '<': 4171756,
  '<=': 4171754,
  '>=': 4171755,
  '>': 4172704,
};

const ENCOUNTER = ['Encounter'] as const;
const PRACTITIONER = ['Practitioner'] as const;

/** Vocabulary preference when a CodeableConcept carries several codings. */
const PRIORITY = {
  // The hospital's own classification first: its code is the verbatim source value and
  // maps to the same standard SNOMED concept.
  condition: ['KCD7', 'ICD10CM', 'ICD10', 'SNOMED'],
  observation: ['LOINC', 'SNOMED'],
  procedure: ['SNOMED', 'CPT4', 'HCPCS', 'ICD10PCS', 'EDI'],
  device: ['SNOMED'],
  allergy: ['SNOMED', 'RxNorm'],
} as const;

function requireCode(context: MappingContext, concept: unknown, path: string, priority: readonly string[]) {
  const code = resolveCodeableConcept(codeable(concept), context.concepts, priority);
  if (!code) throw quarantine('missing_code', `no ${path}`);
  return code;
}

function checkOrder(start: OmopDate, end: OmopDate | null, path: string): void {
  if (end && daysBetween(start.date, end.date) < 0) {
    throw quarantine('impossible_date', `${path} ends (${end.date}) before it starts (${start.date})`);
  }
}

/** FHIR R4 Condition → condition_occurrence (or the table its concept's domain selects). */
export function mapCondition(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  const verification = firstCode(resource.verificationStatus);
  if (verification === 'entered-in-error' || verification === 'refuted') {
    throw skip('excluded_status', `Condition.verificationStatus = ${verification}`);
  }
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'Condition.subject');
  const onsetPeriod = obj(resource.onsetPeriod);
  const abatementPeriod = obj(resource.abatementPeriod);
  const start = requireDate(
    firstPresent(resource.onsetDateTime, onsetPeriod?.start, resource.recordedDate),
    'Condition.onset[x] / recordedDate',
  );
  const end = optionalDate(
    firstPresent(resource.abatementDateTime, abatementPeriod?.end, abatementPeriod?.start),
    'Condition.abatement[x]',
  );
  checkOrder(start, end, 'Condition');
  const clinical = firstCode(resource.clinicalStatus);
  const problemList = arr(resource.category).some((c) => firstCode(c) === 'problem-list-item');
  routeEvent(
    {
      resourceType: 'Condition',
      resourceId: id,
      personId,
      visitId: optionalId(context, resource.encounter, ['Encounter']),
      providerId: optionalId(context, resource.asserter ?? resource.recorder, ['Practitioner']),
      start,
      end,
      typeConceptId: problemList ? TYPE_CONCEPT.ehrProblemList : TYPE_CONCEPT.ehr,
      code: requireCode(context, resource.code, 'Condition.code', PRIORITY.condition),
      defaultTable: 'condition_occurrence',
      conditionStatus: conditionStatus(clinical, verification),
    },
    context,
    out,
  );
}

/** Condition status (OMOP "Condition Status" domain) from clinical / verification status. */
function conditionStatus(clinical: string | undefined, verification: string | undefined) {
  if (clinical === 'resolved') return { conceptId: 32906, sourceValue: clinical };
  if (verification === 'confirmed') return { conceptId: 32893, sourceValue: verification };
  if (verification === 'provisional' || verification === 'differential' || verification === 'unconfirmed') {
    return { conceptId: 32899, sourceValue: verification };
  }
  return { conceptId: 0, sourceValue: verification ?? clinical ?? null };
}

/** FHIR value[x] of an Observation or component → OMOP value columns. */
function readValue(element: Record<string, unknown>, context: MappingContext): EventValue | undefined {
  const quantity = obj(element.valueQuantity) as Quantity | undefined;
  if (quantity && num(quantity.value) !== undefined) {
    const unitCode = str(quantity.code) ?? str(quantity.unit);
    const value: EventValue = { number: quantity.value! };
    const operator = quantity.comparator ? OPERATOR_CONCEPT[quantity.comparator] : undefined;
    if (operator !== undefined) value.operatorConceptId = operator;
    const unit = unitConcept(
      quantity.system === undefined || quantity.system === 'http://unitsofmeasure.org' ? unitCode : undefined,
      context.concepts,
    );
    if (unit !== undefined) value.unitConceptId = unit;
    const unitSource = str(quantity.unit) ?? unitCode;
    if (unitSource !== undefined) value.unitSourceValue = unitSource;
    return value;
  }
  const coded = codeable(element.valueCodeableConcept);
  if (coded) {
    const value: EventValue = {};
    const concept = valueConcept(coded, context.concepts);
    if (concept !== undefined) value.conceptId = concept;
    const first = obj(arr(coded.coding)[0]);
    const text = str(coded.text) ?? str(first?.display) ?? str(first?.code);
    if (text !== undefined) value.codeText = text;
    return value;
  }
  if (str(element.valueString) !== undefined) return { string: element.valueString as string };
  if (typeof element.valueBoolean === 'boolean') return { string: String(element.valueBoolean) };
  if (num(element.valueInteger) !== undefined) return { number: element.valueInteger as number };
  for (const key of ['valueDateTime', 'valueTime'] as const) {
    if (str(element[key]) !== undefined) return { string: element[key] as string };
  }
  return undefined;
}

/**
 * FHIR R4 Observation → measurement / observation / … by domain. Each component with a
 * value is its own row (dated by the parent); a panel with components and no value of its
 * own produces only the component rows.
 */
export function mapObservation(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  excludeStatus(resource, ['entered-in-error', 'cancelled', 'unknown']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'Observation.subject');
  const effectivePeriod = obj(resource.effectivePeriod);
  const start = requireDate(
    firstPresent(
      resource.effectiveDateTime,
      effectivePeriod?.start,
      resource.effectiveInstant,
      resource.issued,
    ),
    'Observation.effective[x]',
  );
  const code = requireCode(context, resource.code, 'Observation.code', PRIORITY.observation);
  const visitId = optionalId(context, resource.encounter, ENCOUNTER);
  const providerId = optionalId(context, arr(resource.performer)[0], PRACTITIONER);
  // Each event is written out whole (no conditional spreads) so every one has the same
  // shape: routing reads a dozen fields from each, hundreds of thousands of times.
  const components = arr(resource.component);
  const value = readValue(resource, context);
  if (value || components.length === 0) {
    const withRange: EventValue = value ?? {};
    const range = obj(arr(resource.referenceRange)[0]);
    const low = num(obj(range?.low)?.value);
    const high = num(obj(range?.high)?.value);
    if (low !== undefined) withRange.rangeLow = low;
    if (high !== undefined) withRange.rangeHigh = high;
    routeEvent(
      {
        resourceType: 'Observation',
        resourceId: id,
        personId,
        visitId,
        providerId,
        start,
        end: null,
        typeConceptId: TYPE_CONCEPT.ehr,
        code,
        defaultTable: 'observation',
        value: withRange,
        qualifierSourceValue: firstCode(arr(resource.interpretation)[0]),
      },
      context,
      out,
    );
  }
  for (let index = 0; index < components.length; index++) {
    const component = obj(components[index]);
    if (!component) continue;
    const componentValue = readValue(component, context);
    const componentCode = resolveCodeableConcept(
      codeable(component.code),
      context.concepts,
      PRIORITY.observation,
    );
    if (!componentValue || !componentCode) continue;
    routeEvent(
      {
        resourceType: 'Observation',
        resourceId: id,
        part: `component/${index}`,
        personId,
        visitId,
        providerId,
        start,
        end: null,
        typeConceptId: TYPE_CONCEPT.ehr,
        code: componentCode,
        defaultTable: 'observation',
        value: componentValue,
        qualifierSourceValue: undefined,
      },
      context,
      out,
    );
  }
  if (out.rows.length === 0) throw skip('no_content', 'Observation panel whose components carry no value');
}

/** FHIR R4 Procedure → procedure_occurrence (or by domain). */
export function mapProcedure(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  excludeStatus(resource, ['preparation', 'not-done', 'entered-in-error', 'unknown']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'Procedure.subject');
  const period = obj(resource.performedPeriod);
  const start = requireDate(
    firstPresent(resource.performedDateTime, period?.start),
    'Procedure.performed[x]',
  );
  const end = optionalDate(period?.end, 'Procedure.performedPeriod.end');
  checkOrder(start, end, 'Procedure');
  routeEvent(
    {
      resourceType: 'Procedure',
      resourceId: id,
      personId,
      visitId: optionalId(context, resource.encounter, ['Encounter']),
      providerId: optionalId(context, obj(arr(resource.performer)[0])?.actor, ['Practitioner']),
      start,
      end,
      typeConceptId: TYPE_CONCEPT.ehrEncounterRecord,
      code: requireCode(context, resource.code, 'Procedure.code', PRIORITY.procedure),
      defaultTable: 'procedure_occurrence',
    },
    context,
    out,
  );
}

/** SNOMED "Allergy to substance" and its category refinements (value-as-concept pattern). */
const ALLERGY_FINDING: Readonly<Record<string, string>> = {
  medication: '416098002',
  food: '414285001',
  default: '419199007',
};

/**
 * FHIR R4 AllergyIntolerance → observation. A code that is itself an allergy finding
 * (Synthea's "Allergy to peanuts") is the observation concept; a code that is a substance
 * or drug becomes `value_as_concept_id` under "Allergy to substance" (FHIR-to-OMOP IG,
 * Value-as-Concept pattern).
 */
export function mapAllergyIntolerance(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  const verification = firstCode(resource.verificationStatus);
  if (verification === 'entered-in-error' || verification === 'refuted') {
    throw skip('excluded_status', `AllergyIntolerance.verificationStatus = ${verification}`);
  }
  const id = requireId(resource);
  const personId = requirePerson(context, resource.patient, 'AllergyIntolerance.patient');
  const start = requireDate(
    firstPresent(resource.onsetDateTime, obj(resource.onsetPeriod)?.start, resource.recordedDate),
    'AllergyIntolerance.onset[x] / recordedDate',
  );
  const category = str(arr(resource.category)[0]);
  const reaction = obj(arr(resource.reaction)[0]);
  const manifestation = codeable(arr(reaction?.manifestation)[0]);
  const manifestationText = str(manifestation?.text) ?? str(obj(arr(manifestation?.coding)[0])?.display);
  const value: EventValue = manifestationText ? { string: manifestationText } : {};
  const type = str(resource.type);
  routeEvent(
    {
      resourceType: 'AllergyIntolerance',
      resourceId: id,
      personId,
      visitId: optionalId(context, resource.encounter, ['Encounter']),
      providerId: optionalId(context, resource.asserter ?? resource.recorder, ['Practitioner']),
      start,
      end: null,
      typeConceptId: TYPE_CONCEPT.ehr,
      code: requireCode(context, resource.code, 'AllergyIntolerance.code', PRIORITY.allergy),
      defaultTable: 'observation',
      value,
      qualifierSourceValue: type,
      substanceAs: { observationConceptId: allergyConcept(category, context) },
    },
    context,
    out,
  );
}

function allergyConcept(category: string | undefined, context: MappingContext): number {
  for (const code of [ALLERGY_FINDING[category ?? ''], ALLERGY_FINDING.default]) {
    if (!code) continue;
    const target = resolveCoding({ system: 'http://snomed.info/sct', code }, context.concepts).targets[0];
    if (target) return target.concept_id;
  }
  return 0;
}

/**
 * FHIR R4 Device → device_exposure (or by domain). Synthea dates a device it hands to a
 * patient by `manufactureDate` / `expirationDate`, which the IG reads as the exposure span.
 */
export function mapDevice(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  const status = str(resource.status);
  if (status !== undefined && status !== 'active' && status !== 'inactive') {
    throw skip('excluded_status', `Device.status = ${status}`);
  }
  const id = requireId(resource);
  const personId = requirePerson(context, resource.patient, 'Device.patient');
  const start = requireDate(resource.manufactureDate, 'Device.manufactureDate');
  const end = optionalDate(resource.expirationDate, 'Device.expirationDate');
  checkOrder(start, end, 'Device');
  const uniqueDeviceId = str(obj(arr(resource.udiCarrier)[0])?.deviceIdentifier);
  const productionId = str(resource.lotNumber);
  routeEvent(
    {
      resourceType: 'Device',
      resourceId: id,
      personId,
      visitId: null,
      providerId: null,
      start,
      end,
      typeConceptId: TYPE_CONCEPT.ehr,
      code: requireCode(context, resource.type, 'Device.type', PRIORITY.device),
      defaultTable: 'device_exposure',
      device: {
        ...(uniqueDeviceId ? { uniqueDeviceId } : {}),
        ...(productionId ? { productionId } : {}),
      },
    },
    context,
    out,
  );
}

/** FHIR R4 Specimen → specimen (always that table: a specimen is not a clinical finding). */
export function mapSpecimen(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  excludeStatus(resource, ['entered-in-error']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'Specimen.subject');
  const collection = obj(resource.collection);
  const start = requireDate(
    firstPresent(collection?.collectedDateTime, obj(collection?.collectedPeriod)?.start),
    'Specimen.collection.collected[x]',
  );
  const quantity = obj(collection?.quantity) as Quantity | undefined;
  const site = resolveCodeableConcept(codeable(collection?.bodySite), context.concepts, ['SNOMED']);
  const siteSource = site?.coding
    ? context.concepts.sourceConcept('SNOMED', site.coding.code ?? '')
    : undefined;
  const siteConcept =
    site?.targets[0] ?? (siteSource ? standardTargets(siteSource, context.concepts)[0] : undefined);
  const unitCode = str(quantity?.code) ?? str(quantity?.unit);
  const unitConceptId = unitConcept(unitCode, context.concepts);
  routeEvent(
    {
      resourceType: 'Specimen',
      resourceId: id,
      personId,
      visitId: null,
      providerId: null,
      start,
      end: null,
      typeConceptId: TYPE_CONCEPT.lab,
      code: requireCode(context, resource.type, 'Specimen.type', ['SNOMED']),
      defaultTable: 'specimen',
      fixedTable: true,
      specimen: {
        ...(num(quantity?.value) !== undefined ? { quantity: quantity!.value! } : {}),
        ...(unitConceptId !== undefined ? { unitConceptId } : {}),
        ...(unitCode ? { unitSourceValue: str(quantity?.unit) ?? unitCode } : {}),
        anatomicSiteConceptId: siteConcept?.concept_id ?? 0,
        ...(site?.sourceValue ? { anatomicSiteSourceValue: site.sourceValue } : {}),
      },
    },
    context,
    out,
  );
}
