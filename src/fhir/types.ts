/**
 * The slice of FHIR R4 (http://hl7.org/fhir/R4/datatypes.html) the mapper reads, and the
 * OMOP CDM v5.4 row shape it writes. FHIR input is untrusted JSON, so every field is
 * optional and read defensively.
 */

/** Any FHIR R4 resource as parsed JSON. */
export interface FhirResource {
  resourceType: string;
  id?: string;
  [element: string]: unknown;
}

/** FHIR R4 Coding (http://hl7.org/fhir/R4/datatypes.html#Coding). */
export interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

/** FHIR R4 CodeableConcept. */
export interface CodeableConcept {
  coding?: Coding[];
  text?: string;
}

/** FHIR R4 Reference (http://hl7.org/fhir/R4/references.html). */
export interface Reference {
  reference?: string;
  type?: string;
  identifier?: { system?: string; value?: string };
  display?: string;
}

/** FHIR R4 Period. */
export interface Period {
  start?: string;
  end?: string;
}

/** FHIR R4 Quantity. */
export interface Quantity {
  value?: number;
  comparator?: string;
  unit?: string;
  system?: string;
  code?: string;
}

/** A value in an OMOP row: dates are `YYYY-MM-DD`, datetimes `YYYY-MM-DDTHH:MM:SS` (wall clock). */
export type OmopValue = string | number | null;

/** The OMOP tables the mapper writes (CDM v5.4 names; `image_occurrence` is the Medical Imaging extension). */
export type OmopTable =
  | 'person'
  | 'death'
  | 'location'
  | 'care_site'
  | 'provider'
  | 'visit_occurrence'
  | 'condition_occurrence'
  | 'procedure_occurrence'
  | 'drug_exposure'
  | 'device_exposure'
  | 'measurement'
  | 'observation'
  | 'specimen'
  | 'note'
  | 'image_occurrence'
  | 'observation_period'
  | 'condition_era'
  | 'drug_era';

/**
 * One OMOP row. `merge: true` means "set these non-null columns on the existing row with the
 * same primary key" (PractitionerRole enriching the provider its Practitioner created);
 * every other row is an insert keyed by its primary key, so re-mapping the same resource
 * yields the same key.
 */
export interface OmopRow {
  table: OmopTable;
  row: Record<string, OmopValue>;
  merge?: true;
}

/** A source code that found no standard concept: the steward's to-do list. */
export interface UnmappedCode {
  table: OmopTable;
  column: string;
  system: string | null;
  code: string | null;
  display: string | null;
}

/** Why a resource produced no rows although it was read. */
export type QuarantineReason =
  | 'malformed_json'
  | 'missing_resource_type'
  | 'unknown_resource_type'
  | 'missing_id'
  | 'missing_subject'
  | 'missing_date'
  | 'impossible_date'
  | 'missing_code'
  | 'unresolved_medication'
  | 'unreadable_file'
  | 'mapping_error';

/** Deliberately not loaded: not an event (status), or a resource type OMOP has no table for. */
export type SkipReason = 'excluded_status' | 'not_mapped_type' | 'no_content';

export type ResourceOutcome =
  | { status: 'mapped'; resourceType: string; id: string }
  | { status: 'skipped'; resourceType: string; id: string | null; reason: SkipReason; detail: string }
  | {
      status: 'quarantined';
      resourceType: string | null;
      id: string | null;
      reason: QuarantineReason;
      detail: string;
    };

/** What mapping one resource produced. */
export interface MappingResult {
  rows: OmopRow[];
  outcome: ResourceOutcome;
  unmapped: UnmappedCode[];
}
