/**
 * Text and images: DiagnosticReport / DocumentReference → note; ImagingStudy →
 * procedure_occurrence + image_occurrence (OMOP Medical Imaging CDM extension, whose
 * image_occurrence row points at the procedure_occurrence of the study).
 */
import { DERIVED_NAMESPACES } from '../ids.ts';
import type { FhirResource, OmopValue } from '../types.ts';
import { resolveCodeableConcept, resolveCoding } from '../vocabulary.ts';
import { TYPE_CONCEPT } from './clinical.ts';
import { routeEvent } from './events.ts';
import {
  arr,
  codeable,
  cut,
  excludeStatus,
  firstPresent,
  type MappingContext,
  obj,
  optionalDate,
  optionalId,
  type RowCollector,
  requireDate,
  requireId,
  requirePerson,
  skip,
  str,
} from './shared.ts';

/** OMOP "UTF-8" encoding concept: note_text is always stored as decoded Unicode. */
const UTF8_CONCEPT = 32678;

/** BCP-47 language of an attachment → SNOMED language qualifier, resolved through the vocabulary. */
const LANGUAGE_SNOMED: Readonly<Record<string, string>> = { en: '297487008' };

/**
 * The text of a FHIR R4 Attachment (http://hl7.org/fhir/R4/datatypes.html#Attachment):
 * base64 `data` of a `text/*` type, decoded with the declared charset (UTF-8 by default;
 * EUC-KR and other legacy charsets of Korean EMRs decode too). HTML loses its tags.
 */
export function attachmentText(attachment: Record<string, unknown> | undefined): string | undefined {
  const data = str(attachment?.data);
  const contentType = str(attachment?.contentType) ?? 'text/plain';
  if (!data || !/^text\//i.test(contentType)) return undefined;
  const charset = /charset=([^;]+)/i.exec(contentType)?.[1]?.trim().replace(/^"|"$/g, '') ?? 'utf-8';
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(charset);
  } catch {
    decoder = new TextDecoder('utf-8');
  }
  const text = decoder.decode(Buffer.from(data, 'base64'));
  return /^text\/html/i.test(contentType)
    ? text
        .replace(/<[^>]*>/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .trim()
    : text;
}

function languageConcept(language: string | undefined, context: MappingContext): number {
  const code = language ? LANGUAGE_SNOMED[language.toLowerCase().split('-')[0]!] : undefined;
  if (!code) return 0;
  return (
    resolveCoding({ system: 'http://snomed.info/sct', code }, context.concepts).targets[0]?.concept_id ?? 0
  );
}

function noteRow(
  fields: {
    noteId: number;
    personId: number;
    date: { date: string; datetime: string };
    classCode: ReturnType<typeof resolveCodeableConcept>;
    title: string | undefined;
    text: string;
    language: string | undefined;
    providerId: number | null;
    visitId: number | null;
  },
  context: MappingContext,
  out: RowCollector,
): void {
  const { classCode } = fields;
  const noteClass = classCode?.targets[0]?.concept_id ?? 0;
  if (classCode && noteClass === 0) out.reportUnmapped('note', 'note_class_concept_id', classCode);
  out.add('note', {
    note_id: fields.noteId,
    person_id: fields.personId,
    note_date: fields.date.date,
    note_datetime: fields.date.datetime,
    note_type_concept_id: TYPE_CONCEPT.ehr,
    note_class_concept_id: noteClass,
    note_title: cut(fields.title, 250),
    note_text: fields.text,
    encoding_concept_id: UTF8_CONCEPT,
    language_concept_id: languageConcept(fields.language, context),
    provider_id: fields.providerId,
    visit_occurrence_id: fields.visitId,
    visit_detail_id: null,
    note_source_value: cut(classCode?.sourceValue, 50),
    note_event_id: null,
    note_event_field_concept_id: null,
  });
}

/**
 * FHIR R4 DiagnosticReport → note, from its conclusion and `presentedForm` text. A report
 * with neither (a lab panel) is only a grouping: its results are Observations.
 */
export function mapDiagnosticReport(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  excludeStatus(resource, ['entered-in-error', 'cancelled']);
  const id = requireId(resource);
  const forms = arr(resource.presentedForm).map(obj);
  const parts = [str(resource.conclusion), ...forms.map(attachmentText)].filter((t): t is string => !!t);
  if (parts.length === 0)
    throw skip('no_content', 'DiagnosticReport without conclusion or text presentedForm');
  const personId = requirePerson(context, resource.subject, 'DiagnosticReport.subject');
  const effectivePeriod = obj(resource.effectivePeriod);
  const date = requireDate(
    firstPresent(resource.effectiveDateTime, effectivePeriod?.start, resource.issued),
    'DiagnosticReport.effective[x] / issued',
  );
  const code = codeable(resource.code);
  noteRow(
    {
      noteId: context.ids.idFor('DiagnosticReport', id),
      personId,
      date,
      classCode: resolveCodeableConcept(code, context.concepts, ['LOINC', 'SNOMED']),
      title: str(code?.text) ?? str(obj(arr(code?.coding)[0])?.display),
      text: parts.join('\n\n'),
      language: str(forms.find((f) => str(f?.language))?.language) ?? str(resource.language),
      providerId: optionalId(context, arr(resource.performer)[0], ['Practitioner']),
      visitId: optionalId(context, resource.encounter, ['Encounter']),
    },
    context,
    out,
  );
}

/** FHIR R4 DocumentReference → note, from its inline text attachments (base64 decoded). */
export function mapDocumentReference(
  resource: FhirResource,
  context: MappingContext,
  out: RowCollector,
): void {
  excludeStatus(resource, ['entered-in-error']);
  const id = requireId(resource);
  const attachments = arr(resource.content).map((c) => obj(obj(c)?.attachment));
  const texts = attachments.map(attachmentText).filter((t): t is string => !!t);
  if (texts.length === 0) throw skip('no_content', 'DocumentReference without an inline text attachment');
  const personId = requirePerson(context, resource.subject, 'DocumentReference.subject');
  const docContext = obj(resource.context);
  const date = requireDate(
    firstPresent(
      resource.date,
      obj(docContext?.period)?.start,
      attachments.find((a) => a?.creation)?.creation,
    ),
    'DocumentReference.date',
  );
  const type = codeable(resource.type);
  noteRow(
    {
      noteId: context.ids.idFor('DocumentReference', id),
      personId,
      date,
      classCode: resolveCodeableConcept(type, context.concepts, ['LOINC', 'SNOMED']),
      title:
        str(resource.description) ??
        str(attachments.find((a) => str(a?.title))?.title) ??
        str(type?.text) ??
        str(obj(arr(type?.coding)[0])?.display),
      text: texts.join('\n\n'),
      language: str(attachments.find((a) => str(a?.language))?.language) ?? str(resource.language),
      providerId: optionalId(context, arr(resource.author)[0], ['Practitioner']),
      visitId: optionalId(context, arr(docContext?.encounter)[0], ['Encounter']),
    },
    context,
    out,
  );
}

const DICOM_UID = /^(?:urn:oid:)?([0-9.]+)$/;

/**
 * FHIR R4 ImagingStudy → one procedure_occurrence (the imaging procedure, always that
 * table so every OHDSI tool sees it) + one image_occurrence per series (OMOP Medical
 * Imaging extension: study/series UID, modality, body site, linked by procedure_occurrence_id).
 */
export function mapImagingStudy(resource: FhirResource, context: MappingContext, out: RowCollector): void {
  excludeStatus(resource, ['entered-in-error', 'cancelled', 'registered']);
  const id = requireId(resource);
  const personId = requirePerson(context, resource.subject, 'ImagingStudy.subject');
  const series = arr(resource.series)
    .map(obj)
    .filter((s) => s !== undefined);
  const date = requireDate(firstPresent(resource.started, series[0]?.started), 'ImagingStudy.started');
  const visitId = optionalId(context, resource.encounter, ['Encounter']);
  const modalities = [
    ...arr(resource.modality).map((m) => str(obj(m)?.code)),
    ...series.map((s) => str(obj(s.modality)?.code)),
  ].filter((m): m is string => !!m);
  const procedureCode = resolveCodeableConcept(codeable(arr(resource.procedureCode)[0]), context.concepts, [
    'SNOMED',
    'LOINC',
    'CPT4',
    'EDI',
  ]) ?? {
    // No procedure code: the modality names what was done.
    coding: {
      system: 'http://dicom.nema.org/resources/ontology/DCM',
      code: [...new Set(modalities)].join('/'),
    },
    sourceValue: [...new Set(modalities)].join('/') || null,
    sourceConceptId: 0,
    targets: [],
  };
  const [procedure] = routeEvent(
    {
      resourceType: 'ImagingStudy',
      resourceId: id,
      personId,
      visitId,
      providerId: optionalId(context, arr(resource.interpreter)[0], ['Practitioner']),
      start: date,
      end: null,
      typeConceptId: TYPE_CONCEPT.ehr,
      code: procedureCode,
      defaultTable: 'procedure_occurrence',
      fixedTable: true,
    },
    context,
    out,
  );
  const studyIdentifier = arr(resource.identifier)
    .map(obj)
    .map((i) => str(i?.value))
    .map((v) => (v ? DICOM_UID.exec(v)?.[1] : undefined))
    .find((v) => v !== undefined);
  if (!studyIdentifier || !procedure) return;
  for (const s of series) {
    const seriesUid = str(s.uid);
    if (!seriesUid) continue;
    const seriesDate = optionalDate(s.started, 'ImagingStudy.series.started') ?? date;
    const modality = obj(s.modality);
    const site = obj(s.bodySite);
    const row: Record<string, OmopValue> = {
      image_occurrence_id: context.ids.idFor(DERIVED_NAMESPACES.imageSeries, `${id}#${seriesUid}`),
      person_id: personId,
      procedure_occurrence_id: procedure.id,
      visit_occurrence_id: visitId,
      anatomic_site_concept_id: site?.code
        ? (resolveCoding(site, context.concepts).targets[0]?.concept_id ?? 0)
        : null,
      wadors_uri: null,
      local_path: null,
      image_occurrence_date: seriesDate.date,
      image_study_uid: studyIdentifier,
      image_series_uid: seriesUid,
      modality_concept_id: modality?.code
        ? (resolveCoding(modality, context.concepts).targets[0]?.concept_id ?? 0)
        : 0,
    };
    out.add('image_occurrence', row);
  }
}
