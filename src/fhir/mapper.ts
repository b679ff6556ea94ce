/**
 * FHIR R4 resource → OMOP CDM v5.4 rows, one resource at a time, as a pure function of the
 * resource, the vocabulary and the id allocator. Follows the HL7 FHIR-to-OMOP IG
 * (https://build.fhir.org/ig/HL7/fhir-omop-ig/) and the golden cases in
 * `../shared/data/fhir2omop-cases`; differences are in `DEVIATIONS.md`.
 */
import {
  mapAllergyIntolerance,
  mapCondition,
  mapDevice,
  mapObservation,
  mapProcedure,
  mapSpecimen,
} from './map/clinical.ts';
import { mapDiagnosticReport, mapDocumentReference, mapImagingStudy } from './map/documents.ts';
import {
  mapImmunization,
  mapMedicationAdministration,
  mapMedicationDispense,
  mapMedicationRequest,
  mapMedicationStatement,
} from './map/drugs.ts';
import { mapEncounter } from './map/encounter.ts';
import {
  mapLocation,
  mapOrganization,
  mapPatient,
  mapPractitioner,
  mapPractitionerRole,
} from './map/people.ts';
import { type MappingContext, Rejection, RowCollector } from './map/shared.ts';
import { FHIR_R4_RESOURCE_TYPES } from './resource-types.ts';
import type { FhirResource, MappingResult, QuarantineReason, SkipReason } from './types.ts';

export type { MappingContext } from './map/shared.ts';

type Mapper = (resource: FhirResource, context: MappingContext, out: RowCollector) => void;

/** The resource types that become OMOP rows, and how. */
const MAPPERS: Readonly<Record<string, Mapper>> = {
  Patient: mapPatient,
  Encounter: mapEncounter,
  Condition: mapCondition,
  Observation: mapObservation,
  Procedure: mapProcedure,
  MedicationRequest: mapMedicationRequest,
  MedicationAdministration: mapMedicationAdministration,
  MedicationStatement: mapMedicationStatement,
  MedicationDispense: mapMedicationDispense,
  Immunization: mapImmunization,
  Device: mapDevice,
  AllergyIntolerance: mapAllergyIntolerance,
  Specimen: mapSpecimen,
  DiagnosticReport: mapDiagnosticReport,
  DocumentReference: mapDocumentReference,
  ImagingStudy: mapImagingStudy,
  Organization: mapOrganization,
  Location: mapLocation,
  Practitioner: mapPractitioner,
  PractitionerRole: mapPractitionerRole,
};

/** Resource types that produce rows. */
export const MAPPED_RESOURCE_TYPES: readonly string[] = Object.keys(MAPPERS);

/**
 * Map one FHIR R4 resource to OMOP CDM v5.4 rows. Never throws on bad input: a resource
 * that cannot be mapped comes back `quarantined` (with the reason a steward can act on) or
 * `skipped` (not an event: entered-in-error, cancelled; or a type OMOP has no table for,
 * such as Claim or CarePlan), with no rows.
 */
export function mapResource(resource: FhirResource, context: MappingContext): MappingResult {
  const resourceType = typeof resource?.resourceType === 'string' ? resource.resourceType : null;
  const id = typeof resource?.id === 'string' ? resource.id : null;
  if (resourceType === null)
    return rejected(null, id, 'quarantined', 'missing_resource_type', 'no resourceType');
  if (!FHIR_R4_RESOURCE_TYPES.has(resourceType)) {
    return rejected(
      resourceType,
      id,
      'quarantined',
      'unknown_resource_type',
      `${resourceType} is not a FHIR R4 resource type`,
    );
  }
  const mapper = MAPPERS[resourceType];
  if (!mapper)
    return rejected(resourceType, id, 'skipped', 'not_mapped_type', `${resourceType} has no OMOP table`);
  const out = new RowCollector();
  try {
    mapper(resource, context, out);
  } catch (error) {
    if (error instanceof Rejection)
      return rejected(resourceType, id, error.outcome, error.reason, error.detail);
    // A shape no mapper expected must not stop an ingest: report it like any bad input.
    const message = error instanceof Error ? error.message : String(error);
    return rejected(resourceType, id, 'quarantined', 'mapping_error', message);
  }
  return {
    rows: out.rows,
    unmapped: out.unmapped,
    outcome: { status: 'mapped', resourceType, id: id ?? '' },
  };
}

function rejected(
  resourceType: string | null,
  id: string | null,
  status: 'quarantined' | 'skipped',
  reason: QuarantineReason | SkipReason,
  detail: string,
): MappingResult {
  const outcome =
    status === 'skipped'
      ? { status, resourceType: resourceType ?? '', id, reason: reason as SkipReason, detail }
      : { status, resourceType, id, reason: reason as QuarantineReason, detail };
  return { rows: [], unmapped: [], outcome };
}
