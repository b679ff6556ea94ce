/** FHIR R4 Encounter → OMOP CDM v5.4 visit_occurrence. */
import { daysBetween } from '../datetime.ts';
import type { FhirResource } from '../types.ts';
import { TYPE_CONCEPT } from './clinical.ts';
import {
  arr,
  cut,
  excludeStatus,
  firstCode,
  type MappingContext,
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

/**
 * Encounter.class (HL7 v3 ActEncounterCode, and Synthea's lower-case classes) → OMOP Visit
 * concept, as the IG's encounter-class ConceptMap.
 */
export const ENCOUNTER_CLASS_VISIT: Readonly<Record<string, number>> = {
  IMP: 9201,
  ACUTE: 9201,
  AMB: 9202,
  OBSENC: 9202,
  PRENC: 9202,
  EMER: 9203,
  VR: 722455,
  HH: 581476,
  FLD: 581476,
  SS: 8870,
  NONAC: 42898160,
  inpatient: 9201,
  ambulatory: 9202,
  outpatient: 9202,
  wellness: 9202,
  emergency: 9203,
  urgentcare: 8870,
  virtual: 722455,
  home: 581476,
  snf: 8676,
  hospice: 8546,
};

/**
 * FHIR R4 Encounter → visit_occurrence. The end falls back to the start for an encounter
 * still in progress; planned, cancelled and erroneous encounters are not visits.
 */
export function mapEncounter(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  excludeStatus(resource, ['planned', 'cancelled', 'entered-in-error', 'unknown']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'Encounter.subject');
  const period = obj(resource.period);
  const start = requireDate(period?.start, 'Encounter.period.start');
  const end = optionalDate(period?.end, 'Encounter.period.end') ?? start;
  if (daysBetween(start.date, end.date) < 0 || (start.date === end.date && end.datetime < start.datetime)) {
    throw quarantine(
      'impossible_date',
      `Encounter ends (${end.datetime}) before it starts (${start.datetime})`,
    );
  }
  const classCoding = obj(resource.class);
  const classCode = str(classCoding?.code);
  const visitConceptId = classCode ? (ENCOUNTER_CLASS_VISIT[classCode] ?? 0) : 0;
  if (visitConceptId === 0) {
    out.reportUnmapped('visit_occurrence', 'visit_concept_id', {
      coding: {
        ...(str(classCoding?.system) ? { system: classCoding!.system as string } : {}),
        ...(classCode ? { code: classCode } : {}),
      },
      sourceValue: classCode ?? null,
      sourceConceptId: 0,
      targets: [],
    });
  }
  const hospitalization = obj(resource.hospitalization);
  out.add('visit_occurrence', {
    visit_occurrence_id: context.ids.idFor('Encounter', id),
    person_id: personId,
    visit_concept_id: visitConceptId,
    visit_start_date: start.date,
    visit_start_datetime: start.datetime,
    visit_end_date: end.date,
    visit_end_datetime: end.datetime,
    visit_type_concept_id: TYPE_CONCEPT.ehrEncounterRecord,
    provider_id: optionalId(context, obj(arr(resource.participant)[0])?.individual, ['Practitioner']),
    care_site_id:
      optionalId(context, resource.serviceProvider, ['Organization']) ??
      optionalId(context, obj(arr(resource.location)[0])?.location, ['Location']),
    // The FHIR id: traceable back to the source record.
    visit_source_value: cut(id, 50),
    visit_source_concept_id: 0,
    admitted_from_concept_id: 0,
    admitted_from_source_value: cut(firstCode(hospitalization?.admitSource), 50),
    discharged_to_concept_id: 0,
    discharged_to_source_value: cut(firstCode(hospitalization?.dischargeDisposition), 50),
    preceding_visit_occurrence_id: null,
  });
}
